"""Which real infrastructure the suite runs on (SPEC §8), chosen once per session."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import sqlalchemy as sa

from shared.db import is_sqlite
from vidnova.broker import EmbeddedBroker, port_answers

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


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
    kind: str  # "external" | "testcontainers" | "embedded"
    bootstrap_servers: str = ""
    supports_idempotence: bool = True
    embedded: EmbeddedBroker | None = None
    container: object | None = None

    def describe(self) -> str:
        return f"broker: {self.kind} ({self.bootstrap_servers or 'to be started'})"


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
    """KAFKA_BOOTSTRAP_SERVERS, else testcontainers Kafka (KRaft) if Docker answers, else embedded Tansu."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        idempotence = os.environ.get("KAFKA_ENABLE_IDEMPOTENCE", "true").lower() not in ("0", "false", "no")
        return BrokerChoice("external", os.environ["KAFKA_BOOTSTRAP_SERVERS"], idempotence)
    if docker_answers():
        return BrokerChoice("testcontainers")
    return BrokerChoice("embedded", supports_idempotence=False)


def choose_database() -> DatabaseChoice:
    """TEST_DATABASE_URL, else testcontainers PostgreSQL, else local PostgreSQL, else SQLite."""
    if os.environ.get("TEST_DATABASE_URL"):
        if is_sqlite(os.environ["TEST_DATABASE_URL"]):
            return DatabaseChoice("sqlite")  # a fresh file per service and stack, as below
        return DatabaseChoice("external", os.environ["TEST_DATABASE_URL"])
    if docker_answers():
        return DatabaseChoice("testcontainers")
    if port_answers(5432) and asyncio.run(_postgres_accepts(LOCAL_POSTGRES)):
        return DatabaseChoice("local-postgres", LOCAL_POSTGRES)
    return DatabaseChoice("sqlite")


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
    if choice.kind == "embedded":
        choice.embedded = EmbeddedBroker(log_path=log_dir / "broker.log")
        choice.bootstrap_servers = choice.embedded.start()
    elif choice.kind == "testcontainers":
        from testcontainers.community.kafka import KafkaContainer

        container = KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft()
        container.start()
        choice.container = container
        choice.bootstrap_servers = container.get_bootstrap_server()


def stop_broker(choice: BrokerChoice) -> None:
    """Stop whatever start_broker started."""
    if choice.embedded is not None:
        choice.embedded.stop()
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
