"""Raw database limit: one request row + one outbox row per transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa

from bench.stats import Latency, latency, rate
from bench.writes import SAMPLE_BODY, create_tables, write_request
from shared.db import Database
from vidnova.cache import local_postgres_url

# Tried (and reported as not answering) when neither BENCH_POSTGRES_URL nor `make postgres` says where.
UNCONFIGURED_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class WriteLimit:
    """Commits per second and per-commit latency at one concurrency."""

    backend: str
    concurrency: int
    commits: int
    per_second: float | None
    latency: Latency

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return {
            "backend": self.backend,
            "concurrency": self.concurrency,
            "commits": self.commits,
            "per_second": self.per_second,
            "latency": self.latency.as_dict(),
        }


async def measure_writes(
    db: Database, backend: str, *, concurrency: int, count: int, duration_s: float
) -> WriteLimit:
    """`concurrency` writers committing one row + one outbox row each, until `count` or `duration_s`."""
    durations: list[float] = []
    deadline = time.perf_counter() + duration_s
    issued = iter(range(count))

    async def writer() -> None:
        while next(issued, None) is not None and time.perf_counter() < deadline:
            started = time.perf_counter()
            await write_request(db, SAMPLE_BODY)
            durations.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return WriteLimit(backend, concurrency, len(durations), rate(len(durations), elapsed), latency(durations))


async def sqlite_limits(
    directory: Path, *, count: int, duration_s: float, concurrencies: tuple[int, ...]
) -> list[WriteLimit]:
    """SQLite as the embedded default configures it (WAL, synchronous=FULL), in a private file."""
    db = Database(f"sqlite+aiosqlite:///{directory / 'bench-raw.db'}")
    try:
        await create_tables(db)
        await write_request(db, SAMPLE_BODY)  # warm the pool and the statement cache
        return [
            await measure_writes(db, "sqlite", concurrency=c, count=count, duration_s=duration_s)
            for c in concurrencies
        ]
    finally:
        await db.dispose()


def postgres_server_url() -> str:
    """The server to create a private database on: `BENCH_POSTGRES_URL`, else `make postgres`'s."""
    return os.environ.get("BENCH_POSTGRES_URL") or local_postgres_url() or UNCONFIGURED_POSTGRES


def _dsn(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def postgres_accepts(url: str) -> bool:
    """Whether the server accepts a connection within 3 s."""
    try:
        connection = await asyncpg.connect(_dsn(url), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


@asynccontextmanager
async def private_postgres_database(server_url: str) -> AsyncIterator[str]:
    """The URL of a new database on the server, dropped on leaving (whatever its connections)."""
    name = f"vidnova_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_dsn(server_url), timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def postgres_limits(
    server_url: str, *, count: int, duration_s: float, concurrencies: tuple[int, ...]
) -> list[WriteLimit]:
    """The same writes on a private database created on the server and dropped afterwards."""
    async with private_postgres_database(server_url) as url:
        db = Database(url, pool_size=max(concurrencies))
        try:
            await create_tables(db)
            await write_request(db, SAMPLE_BODY)
            return [
                await measure_writes(db, "postgresql", concurrency=c, count=count, duration_s=duration_s)
                for c in concurrencies
            ]
        finally:
            await db.dispose()
