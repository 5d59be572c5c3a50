"""DATABASE_POOL_SIZE sizes each process's PostgreSQL pool; SQLite keeps its single queued connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.requests.settings import RequestsSettings
from shared.db import Database

POSTGRES_URL = "postgresql+asyncpg://vidnova@127.0.0.1:5432/requests"


async def test_the_pool_holds_the_configured_connections_and_as_many_again_in_bursts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", "4")
    settings = RequestsSettings(database_url=POSTGRES_URL)
    db = Database(settings.database_url, pool_size=settings.database_pool_size)
    try:
        assert db.engine.pool.size() == 4  # type: ignore[attr-defined]
        assert db.engine.pool._max_overflow == 4  # type: ignore[attr-defined]
    finally:
        await db.dispose()


async def test_sqlite_ignores_the_pool_size(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/requests.db", pool_size=50)
    try:
        assert db.engine.pool.size() == 1  # type: ignore[attr-defined]
    finally:
        await db.dispose()


def test_a_pool_size_of_zero_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", "0")
    with pytest.raises(ValueError, match="DATABASE_POOL_SIZE"):
        RequestsSettings(database_url=POSTGRES_URL)
