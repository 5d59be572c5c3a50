"""docker-compose.yml: valid against the Compose specification, healthy start order, each
container's variables read by its settings class, and no secret with a default."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.compose_interpolation import (
    MissingRequiredVariable,
    interpolate_tree,
    references,
    strings,
)
from tests.deploy.dockerfile import parse
from tests.deploy.settings_env import (
    DEFAULT_PORTS,
    DEPLOYED,
    PYTHON_RUNTIME_VARIABLES,
    SERVICE_NAMES,
    all_service_variables,
    service_variables,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE_KEY")
REQUIRED_SECRETS = {
    "VIDNOVA_AUTH_SECRET",
    "POSTGRES_PASSWORD",
    "CONSOLE_DB_PASSWORD",
    "REQUESTS_DB_PASSWORD",
    "ALLOCATION_DB_PASSWORD",
    "NOTIFICATIONS_DB_PASSWORD",
    "WEBHOOK_SIGNING_SECRET",
    "KAFKA_ADMIN_PASSWORD",
    "KAFKA_CONSOLE_PASSWORD",
    "KAFKA_REQUESTS_PASSWORD",
    "KAFKA_ALLOCATION_PASSWORD",
    "KAFKA_NOTIFICATIONS_PASSWORD",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def secrets_environment() -> dict[str, str]:
    return {name: "0123456789abcdef" * 4 for name in REQUIRED_SECRETS}


@pytest.fixture(scope="module")
def resolved(compose: dict[str, Any], secrets_environment: dict[str, str]) -> dict[str, Any]:
    """The file as `docker compose` sees it once the required variables are set."""
    return interpolate_tree(compose, secrets_environment)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def _vidnova_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services that run the project's image."""
    return {
        name: service
        for name, service in compose["services"].items()
        if "build" in service or str(service.get("image", "")).startswith("vidnova")
    }


def _one_shot(compose: dict[str, Any]) -> set[str]:
    """Services others wait on to finish (service_completed_successfully)."""
    return {
        dependency
        for service in compose["services"].values()
        for dependency, condition in (service.get("depends_on") or {}).items()
        if isinstance(condition, dict) and condition.get("condition") == "service_completed_successfully"
    }


def _serves(service: dict[str, Any]) -> str | None:
    command = service.get("command")
    if isinstance(command, list) and len(command) == 2 and command[0] == "serve":
        return command[1]
    return None


def test_compose_file_matches_the_compose_specification(
    compose: dict[str, Any], resolved: dict[str, Any]
) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    for document in (compose, resolved):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_schema_check_is_not_vacuous(compose: dict[str, Any]) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    broken = json.loads(json.dumps(compose))
    broken["services"]["requests"]["healthcheck"]["intervall"] = "10s"
    broken["services"]["requests"]["depends_on"]["migrate"]["condition"] = "service_done"
    assert len(list(jsonschema.Draft7Validator(schema).iter_errors(broken))) >= 2


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    one_shot = _one_shot(compose)
    assert one_shot == {"migrate", "kafka-acls"}
    for name, service in compose["services"].items():
        if name in one_shot:
            assert service.get("restart") == "no", f"{name} runs once and must not restart"
            continue
        healthcheck = service.get("healthcheck")
        assert healthcheck, f"{name} has no healthcheck"
        assert not healthcheck.get("disable"), f"{name} disables its healthcheck"
        assert healthcheck["test"][0] in ("CMD", "CMD-SHELL"), name
        assert service.get("restart") in ("unless-stopped", "always", "on-failure"), name


def test_dependencies_wait_for_health_or_completion(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = condition["condition"]
            assert condition in ("service_healthy", "service_completed_successfully"), (name, dependency)
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} cannot become healthy"
    for name, service in _vidnova_services(compose).items():
        if _serves(service):
            depends_on = service["depends_on"]
            assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
            assert {"kafka", "postgres"} <= set(depends_on), name
    assert services["migrate"]["depends_on"].keys() >= {"kafka", "postgres"}
    assert services["notifications"]["depends_on"]["mailpit"]["condition"] == "service_healthy"


def test_each_service_is_served_once_and_probed_on_its_own_port(compose: dict[str, Any]) -> None:
    served = {}
    for name, service in _vidnova_services(compose).items():
        service_name = _serves(service)
        if service_name is None:
            continue
        served[service_name] = name
        port = DEFAULT_PORTS[service_name]
        assert _environment(service)[f"{service_name.upper()}_PORT"] == str(port)
        test = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/readyz" in test, f"{name} healthcheck: {test}"
        # python, because the slim image has no curl or wget.
        assert service["healthcheck"]["test"][:2] == ["CMD", "python"]
        assert any(str(p).endswith(f":{port}") for p in service.get("ports", [])), name
    assert set(served) == set(DEPLOYED)


def test_migrate_runs_migrations_then_creates_topics(compose: dict[str, Any]) -> None:
    command = " ".join(compose["services"]["migrate"]["command"])
    assert re.search(r"vidnova migrate all\s*&&\s*vidnova topics", command), command


@pytest.mark.parametrize("service_name", DEPLOYED)
def test_service_containers_set_only_variables_their_settings_read(
    compose: dict[str, Any], service_name: str
) -> None:
    (service,) = [s for s in _vidnova_services(compose).values() if _serves(s) == service_name]
    image_environment = parse(ROOT / "Dockerfile").environment(parse(ROOT / "Dockerfile").final)
    names = (set(_environment(service)) | set(image_environment)) - PYTHON_RUNTIME_VARIABLES
    unknown = names - service_variables(service_name)
    assert not unknown, f"{service_name} sets variables its settings never read: {sorted(unknown)}"
    assert f"{service_name.upper()}_DATABASE_URL" in names
    assert {"KAFKA_BOOTSTRAP_SERVERS", "VIDNOVA_AUTH_SECRET", "VIDNOVA_ENV"} <= names


def test_migrate_container_sets_only_variables_settings_read(compose: dict[str, Any]) -> None:
    names = set(_environment(compose["services"]["migrate"]))
    assert not names - all_service_variables(), sorted(names - all_service_variables())
    assert {f"{s.upper()}_DATABASE_URL" for s in DEPLOYED} <= names
    assert "VIDNOVA_AUTH_SECRET" not in names, "migrations need no signing secret"


def test_kafka_variables_agree_across_containers(compose: dict[str, Any]) -> None:
    # Everything but the user (and its password) is the same in every container of ours.
    own = {"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"}
    containers = _vidnova_services(compose)
    kafka_settings = [
        {k: v for k, v in _environment(s).items() if k.startswith("KAFKA_") and k not in own}
        for s in containers.values()
    ]
    assert all(settings == kafka_settings[0] for settings in kafka_settings)
    assert kafka_settings[0]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert kafka_settings[0]["KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert kafka_settings[0]["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    users = {name: _environment(s)["KAFKA_SASL_USERNAME"] for name, s in containers.items()}
    assert users == {"migrate": "admin", **{name: f"vidnova-{name}" for name in DEPLOYED}}


def test_no_secret_has_a_default(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in _environment(service).items():
            refs = references(value)
            if SECRET_NAME.search(key):
                assert refs, f"{name}.{key} must be ${{{key}:?…}}, not a literal"
                assert all(r.required for r in refs), f"{name}.{key} must be ${{{key}:?…}}"
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:?\?[^}]*\}", value), f"{name}.{key}: {value}"
            credentials = re.match(r"[a-z+]+://[^:/@]+:([^@]+)@", value)
            if credentials:
                password_refs = references(credentials.group(1))
                assert password_refs, f"{name}.{key} embeds a literal password"
                assert all(r.required for r in password_refs), f"{name}.{key}"
    for value in strings(compose):
        for reference in references(value):
            if SECRET_NAME.search(reference.name):
                assert reference.required, f"${{{reference.name}}} must be required (:?), not defaulted"


def test_up_refuses_to_start_without_each_required_secret(
    compose: dict[str, Any], secrets_environment: dict[str, str]
) -> None:
    for missing in sorted(REQUIRED_SECRETS):
        environment = {k: v for k, v in secrets_environment.items() if k != missing}
        with pytest.raises(MissingRequiredVariable) as raised:
            interpolate_tree(compose, environment)
        assert raised.value.name == missing
        assert raised.value.message, f"${{{missing}:?…}} should say what to set"
    with pytest.raises(MissingRequiredVariable):
        interpolate_tree(compose, {**secrets_environment, "VIDNOVA_AUTH_SECRET": ""})


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service.get("image", "")
        if "build" in service:
            continue
        _, _, tag = image.rpartition(":")
        assert tag not in ("", "latest"), f"{name}: pin {image}"
        assert "/" not in tag, f"{name}: {image} has no tag"


def test_kafka_runs_apache_kafka_in_kraft_mode(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert any(v.startswith("./deploy/compose/kafka:") for v in kafka["volumes"])
    properties = broker_properties()
    assert set(properties["process.roles"].split(",")) == {"broker", "controller"}
    assert properties["controller.quorum.voters"].startswith(properties["node.id"] + "@")
    assert not any("zookeeper" in key for key in properties)
    assert "INTERNAL://kafka:9092" in properties["advertised.listeners"]
    assert properties["auto.create.topics.enable"] == "false"


def test_postgres_gets_one_database_and_role_per_service(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    mounts = [v for v in postgres["volumes"] if "docker-entrypoint-initdb.d" in v]
    (mount,) = mounts
    script = ROOT / mount.split(":")[0]
    assert script.exists(), f"{script} is mounted but missing"
    assert os.access(script, os.X_OK), f"{script} must be executable"
    text = script.read_text()
    for service_name in DEPLOYED:
        assert re.search(rf"create_service_database {service_name} ", text), service_name
        url = _environment(_vidnova_services(compose)[service_name])[f"{service_name.upper()}_DATABASE_URL"]
        assert re.fullmatch(
            rf"postgresql\+asyncpg://{service_name}:\$\{{{service_name.upper()}_DB_PASSWORD:\?[^}}]*\}}"
            rf"@postgres:5432/{service_name}",
            url,
        ), url
        assert f"{service_name.upper()}_DB_PASSWORD" in _environment(postgres)


def test_the_console_calls_each_service_at_its_compose_address(compose: dict[str, Any]) -> None:
    environment = _environment(compose["services"]["console"])
    for name in SERVICE_NAMES:
        assert environment[f"{name.upper()}_URL"] == f"http://{name}:{DEFAULT_PORTS[name]}", name
    assert references(environment["CONSOLE_PUBLIC_URL"]), "the links' base must be settable"


def test_mailpit_receives_the_notifications_mail(compose: dict[str, Any]) -> None:
    environment = _environment(compose["services"]["notifications"])
    assert environment["SMTP_HOST"] == "mailpit"
    assert environment["SMTP_PORT"] == "1025"
    assert environment["SMTP_STARTTLS"] == "false"
    assert any(str(p).endswith(":8025") for p in compose["services"]["mailpit"]["ports"])


def _postgres_bindir() -> Path | None:
    """A folder with initdb, pg_ctl and psql (Debian keeps them per version)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).resolve().parent)
    for folder in candidates:
        if all((folder / tool).exists() for tool in ("initdb", "pg_ctl", "psql")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_init_script_isolates_the_service_databases() -> None:
    """Runs deploy/postgres/init-databases.sh against a throwaway PostgreSQL when one can be made."""
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    as_user: list[str] = []
    if os.geteuid() == 0:
        if (
            shutil.which("runuser") is None
            or subprocess.run(["id", "postgres"], capture_output=True).returncode
        ):
            pytest.skip("running as root without a postgres user to run initdb as")
        as_user = ["runuser", "-u", "postgres", "--"]
    with tempfile.TemporaryDirectory(prefix="vidnova-initdb-") as workdir:
        work = Path(workdir)
        if as_user:
            shutil.chown(work, user="postgres")
        data, port = work / "data", str(_free_port())

        def run(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*as_user, "env", *(f"{k}={v}" for k, v in env.items()), *command],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

        initdb = run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        assert initdb.returncode == 0, initdb.stderr
        started = run(
            str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(work / "log"),
            "-o", f"-p {port} -k {work} -c listen_addresses=''", "start",
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        try:
            env = {"PGHOST": str(work), "PGPORT": port, "POSTGRES_USER": "postgres"}
            passwords = {f"{s.upper()}_DB_PASSWORD": f"pw-{s}-'quoted\"" for s in DEPLOYED}
            # A copy the postgres user can read: the checkout may sit in a root-only directory.
            init_script = work / "init-databases.sh"
            shutil.copy(ROOT / "deploy/postgres/init-databases.sh", init_script)
            if as_user:
                shutil.chown(init_script, user="postgres")
            script = run("sh", str(init_script), **env, **passwords)
            assert script.returncode == 0, script.stderr
            psql = str(bindir / "psql")
            for owner in DEPLOYED:
                own = run(psql, "-U", owner, "-d", owner, "-Atc", "CREATE TABLE probe (id int)", **env)
                assert own.returncode == 0, own.stderr
                for other in set(DEPLOYED) - {owner}:
                    foreign = run(psql, "-U", other, "-d", owner, "-Atc", "SELECT 1", **env)
                    assert foreign.returncode != 0, f"{other} can connect to {owner}'s database"
                    assert "CONNECT privilege" in foreign.stderr
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")


def broker_properties() -> dict[str, str]:
    """deploy/compose/kafka/server.properties as a dict."""
    lines = (ROOT / "deploy/compose/kafka/server.properties").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}
