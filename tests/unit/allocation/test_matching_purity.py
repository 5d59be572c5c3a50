"""The matching package stays pure domain logic: no database, broker, web framework or HTTP client."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.imports import ROOT, imported_modules, imports_package

MATCHING = ROOT / "services" / "allocation" / "matching"
IO_PACKAGES = ("sqlalchemy", "sqlmodel", "alembic", "aiokafka", "fastapi", "starlette", "httpx")


def test_the_package_has_its_three_seams_and_every_file_is_small() -> None:
    modules = {path.name for path in MATCHING.glob("*.py")}
    assert {"values.py", "fit.py", "exchange.py"} <= modules
    too_long = {
        path.name: n for path in MATCHING.glob("*.py") if (n := len(path.read_text().splitlines())) >= 400
    }
    assert too_long == {}


@pytest.mark.parametrize("module", sorted(MATCHING.glob("*.py")), ids=lambda path: path.name)
def test_matching_module_imports_no_io_package(module: Path) -> None:
    impure = [package for package in IO_PACKAGES if imports_package(module, package)]
    assert impure == [], f"{module.name} imports {impure}"


def test_matching_imports_nothing_else_of_the_service() -> None:
    """Only its own modules and the catalog: nothing that could reach a session or a producer."""
    for module in MATCHING.glob("*.py"):
        ours = {name for name in imported_modules(module) if name.startswith(("services", "shared"))}
        assert all(
            name.startswith("services.allocation.matching") or name == "shared.catalog" for name in ours
        ), f"{module.name} imports {sorted(ours)}"
