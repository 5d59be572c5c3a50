"""Which real infrastructure the suite runs on (SPEC §8), chosen once per session."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa

from shared.db import Database, is_sqlite
from shared.migrations import upgrade
from shared.settings import KafkaSettings
from vidnova.broker import EmbeddedBroker, port_answers
from vidnova.cache import local_postgres_url
from vidnova.kafka_cluster import KafkaCluster, kafka_version, tools_present, wait_for_brokers

# The three-broker cluster of the suite: replication factor 3 and min.insync.replicas 2, as production.
CLUSTER_SIZE = 3


def docker_answers() -> bool:
    """Whether a Docker engine (not only the client) responds."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


@dataclass
class BrokerChoice:
    kind: str  # "external" | "testcontainers" | "apache-kafka" | "embedded"
    bootstrap_servers: str = ""
    supports_idempotence: bool = True
    embedded: EmbeddedBroker | None = None
    cluster: KafkaCluster | None = None
    container: object | None = None

    def describe(self) -> str:
        what = self.kind
        if self.kind == "apache-kafka":
            what = f"Apache Kafka {kafka_version()}, {CLUSTER_SIZE} brokers (KRaft)"
        elif self.kind == "embedded":
            what = "embedded Tansu"
        return f"broker: {what} ({self.bootstrap_servers or 'to be started'})"

    def service_env(self) -> dict[str, str]:
        """What a service needs to use this broker as production would."""
        if self.cluster is not None:
            return self.cluster.service_env()
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_ENABLE_IDEMPOTENCE": "true" if self.supports_idempotence else "false",
        }

    def kafka_settings(self, **overrides: Any) -> KafkaSettings:
        """Client settings for this broker (replication as the services get it), plus overrides."""
        env = self.service_env()
        fetch_max_wait_ms = int(env.get("KAFKA_FETCH_MAX_WAIT_MS", "10"))
        return kafka_settings_from(env, **{"fetch_max_wait_ms": fetch_max_wait_ms, **overrides})


def kafka_settings_from(env: dict[str, str], **overrides: Any) -> KafkaSettings:
    """The broker address, idempotence and topic replication a service environment names, plus overrides."""
    min_isr = env.get("KAFKA_TOPIC_MIN_INSYNC_REPLICAS")
    options: dict[str, Any] = {
        "bootstrap_servers": env["KAFKA_BOOTSTRAP_SERVERS"],
        "enable_idempotence": env["KAFKA_ENABLE_IDEMPOTENCE"] == "true",
        "topic_replication_factor": int(env.get("KAFKA_TOPIC_REPLICATION_FACTOR", "1")),
        "topic_min_insync_replicas": int(min_isr) if min_isr else None,
    }
    return KafkaSettings(**{**options, **overrides})


@dataclass
class DatabaseChoice:
    kind: str  # "external" | "testcontainers" | "local-postgres" | "sqlite"
    server_url: str | None = None  # admin URL of a PostgreSQL server, None for SQLite
    container: object | None = None
    created: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = (
            sa.make_url(self.server_url).render_as_string(hide_password=True) if self.server_url else "files"
        )
        return f"database: {self.kind} ({where})"


def choose_broker() -> BrokerChoice:
    """SPEC §8: KAFKA_BOOTSTRAP_SERVERS, else testcontainers Kafka if Docker answers, else Apache Kafka
    from its Maven Central jars if Java and Maven are here, else embedded Tansu.

    ``TEST_BROKER=embedded`` runs the suite on the embedded default on purpose (`make test`'s second pass);
    ``TEST_BROKER=apache-kafka`` insists on the jars.
    """
    forced = os.environ.get("TEST_BROKER", "")
    if forced not in ("", "embedded", "apache-kafka"):
        raise ValueError(f"TEST_BROKER={forced!r}: expected 'embedded' or 'apache-kafka'")
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        idempotence = os.environ.get("KAFKA_ENABLE_IDEMPOTENCE", "true").lower() not in ("0", "false", "no")
        return BrokerChoice("external", os.environ["KAFKA_BOOTSTRAP_SERVERS"], idempotence)
    if forced == "embedded":
        return BrokerChoice("embedded", supports_idempotence=False)
    if forced != "apache-kafka" and docker_answers():
        return BrokerChoice("testcontainers")
    if forced == "apache-kafka" or tools_present():
        return BrokerChoice("apache-kafka")
    return BrokerChoice("embedded", supports_idempotence=False)


def choose_database() -> DatabaseChoice:
    """TEST_DATABASE_URL, else testcontainers PostgreSQL, else local PostgreSQL, else SQLite."""
    if os.environ.get("TEST_DATABASE_URL"):
        if is_sqlite(os.environ["TEST_DATABASE_URL"]):
            return DatabaseChoice("sqlite")  # a fresh file per service and stack, as below
        return DatabaseChoice("external", os.environ["TEST_DATABASE_URL"])
    if docker_answers():
        return DatabaseChoice("testcontainers")
    local = local_postgres_url()
    if local and port_answers(5432) and asyncio.run(_postgres_accepts(local)):
        return DatabaseChoice("local-postgres", local)
    return DatabaseChoice("sqlite")


def require_production_infra(broker: BrokerChoice, database: DatabaseChoice) -> None:
    """In CI (VIDNOVA_REQUIRE_PRODUCTION_INFRA set), Kafka and PostgreSQL are a must, not a wish."""
    if not os.environ.get("VIDNOVA_REQUIRE_PRODUCTION_INFRA"):
        return
    missing = []
    if broker.kind == "embedded":
        missing.append("Apache Kafka (Java 17 and Maven, or KAFKA_BOOTSTRAP_SERVERS)")
    if database.kind == "sqlite":
        missing.append("PostgreSQL (`make postgres`, or TEST_DATABASE_URL)")
    if missing:
        raise RuntimeError(
            "VIDNOVA_REQUIRE_PRODUCTION_INFRA is set but these could not be had: " + "; ".join(missing)
        )


async def _postgres_accepts(url: str) -> bool:
    try:
        connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


def _asyncpg_dsn(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def start_broker(choice: BrokerChoice, log_dir: Path) -> None:
    """Start what the choice needs; fills in bootstrap_servers."""
    if choice.kind == "apache-kafka":
        choice.cluster = KafkaCluster(log_dir / "kafka", size=CLUSTER_SIZE)
        choice.bootstrap_servers = choice.cluster.start()
        asyncio.run(wait_for_brokers(choice.bootstrap_servers, CLUSTER_SIZE))
    elif choice.kind == "embedded":
        choice.embedded = EmbeddedBroker(log_path=log_dir / "broker.log")
        choice.bootstrap_servers = choice.embedded.start()
    elif choice.kind == "testcontainers":
        from testcontainers.community.kafka import KafkaContainer

        # Confluent Platform 8.1 is Apache Kafka 4.1, the version of deploy/kafka/pom.xml and compose.
        container = KafkaContainer("confluentinc/cp-kafka:8.1.0").with_kraft()
        container.start()
        choice.container = container
        choice.bootstrap_servers = container.get_bootstrap_server()


def stop_broker(choice: BrokerChoice) -> None:
    """Stop whatever start_broker started."""
    if choice.embedded is not None:
        choice.embedded.stop()
    if choice.cluster is not None:
        choice.cluster.stop()
    if choice.container is not None:
        choice.container.stop()  # type: ignore[attr-defined]


def start_database(choice: DatabaseChoice) -> None:
    """Start a PostgreSQL container when chosen; fills in server_url."""
    if choice.kind == "testcontainers":
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver="asyncpg")
        container.start()
        choice.container = container
        choice.server_url = container.get_connection_url()


def stop_database(choice: DatabaseChoice) -> None:
    """Drop the databases the run created; stop the container."""
    if choice.server_url and choice.created:
        asyncio.run(_drop_databases(choice.server_url, choice.created))
    if choice.container is not None:
        choice.container.stop()  # type: ignore[attr-defined]


async def _drop_databases(server_url: str, names: list[str]) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def new_database_url(choice: DatabaseChoice, tmp_dir: Path, label: str) -> str:
    """A fresh, empty database for one service of one test stack."""
    name = f"vt_{label}_{uuid.uuid4().hex[:10]}"
    if choice.server_url is None:
        return f"sqlite+aiosqlite:///{tmp_dir / name}.db"
    connection = await asyncpg.connect(_asyncpg_dsn(choice.server_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    choice.created.append(name)
    return sa.make_url(choice.server_url).set(database=name).render_as_string(hide_password=False)


@asynccontextmanager
async def migrated_database(
    choice: DatabaseChoice, tmp_dir: Path, service: str, label: str
) -> AsyncIterator[Database]:
    """A fresh database for one service, migrated to its head, disposed of on the way out."""
    url = await new_database_url(choice, tmp_dir, label)
    await asyncio.to_thread(upgrade, service, url)
    database = Database(url)
    try:
        yield database
    finally:
        await database.dispose()


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Temporarily set environment variables."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
