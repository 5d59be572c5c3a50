"""What a module imports, read from its source with `ast` (nothing is executed)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Absolute dotted names a module imports anywhere in its body (function-level imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def modules_under(*folders: str) -> Iterator[Path]:
    """Every Python file under the given repository folders (migrations included)."""
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def imports_package(path: Path, package: str) -> bool:
    """Whether the module imports `package` or anything inside it."""
    return any(name == package or name.startswith(f"{package}.") for name in imported_modules(path))
