"""Outbox rows are staged and written just before commit (shared.db.stage_insert): all or nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database
from shared.events.payloads import RequestUpdated
from shared.outbox import OUTBOX_TABLE, emit


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(lambda sync: OUTBOX_TABLE.create(sync))
    yield database
    await database.dispose()


def updated(ref: str) -> RequestUpdated:
    return RequestUpdated(
        request_id=uuid4(), ref=ref, region="UA-63", priority="high", previous_priority="low", updated_by="c"
    )


async def stored_refs(db: Database) -> list[str]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(sa.select(OUTBOX_TABLE.c.payload).order_by(OUTBOX_TABLE.c.id))
        return [payload.split('"ref":"')[1].split('"')[0] for (payload,) in rows]


async def test_staged_events_are_written_in_order_when_the_transaction_commits(db: Database) -> None:
    async with db.session() as session, session.begin():
        for ref in ("UA63-2026-000001", "UA63-2026-000002", "UA63-2026-000003"):
            emit(session, updated(ref), source="test")
        assert await stored_refs(db) == []  # nothing is visible before the commit
    assert await stored_refs(db) == ["UA63-2026-000001", "UA63-2026-000002", "UA63-2026-000003"]


async def test_a_failed_transaction_leaves_nothing_behind_for_the_next_one(db: Database) -> None:
    class Refused(Exception):
        pass

    async def fail_after_emitting(session: AsyncSession) -> None:
        async with session.begin():
            emit(session, updated("UA63-2026-000009"), source="test")
            raise Refused

    async with db.session() as session:
        # The failure comes before any statement reached the database (no DBAPI rollback happens).
        with pytest.raises(Refused):
            await fail_after_emitting(session)
        async with session.begin():
            emit(session, updated("UA63-2026-000010"), source="test")
    assert await stored_refs(db) == ["UA63-2026-000010"]
