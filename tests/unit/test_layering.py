"""The house's walls: services talk only through events, ``shared/`` serves them all, files stay small."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.imports import ROOT, imports_package, modules_under

SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "app.py").exists())
MAX_LINES = 400


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = [f"services.{name}" for name in SERVICES if name != service]
    crossing = [
        f"{path.relative_to(ROOT)} imports {other}"
        for path in modules_under(f"services/{service}")
        for other in others
        if imports_package(path, other)
    ]
    assert crossing == []


def test_shared_imports_no_service() -> None:
    assert [str(p.relative_to(ROOT)) for p in modules_under("shared") if imports_package(p, "services")] == []


def test_no_source_file_passes_the_size_that_asks_for_a_split() -> None:
    def lines(path: Path) -> int:
        return len(path.read_text().splitlines())

    large = {
        str(path.relative_to(ROOT)): lines(path)
        for path in modules_under("services", "shared")
        if "migrations" not in path.parts and lines(path) > MAX_LINES
    }
    assert large == {}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_one_shape(service: str) -> None:
    folder = ROOT / "services" / service
    required = ["app.py", "settings.py", "schemas.py", "shapes.py", "events.py", "models.py", "migrations"]
    missing = [name for name in required if not (folder / name).exists()]
    has_routes = (folder / "api.py").exists() or (folder / "api").is_dir() or (folder / "pages.py").exists()
    assert missing == []
    assert has_routes
