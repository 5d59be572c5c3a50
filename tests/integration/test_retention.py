"""Retention deletes finished rows past their age, in batches, and nothing else (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from uuid import uuid4

import pytest
import sqlalchemy as sa

from services.notifications.models import Delivery, DeliveryAttempt, finished_deliveries
from shared.db import Database, utcnow
from shared.migrations import upgrade
from shared.outbox import OutboxRecord
from shared.processed_events import ProcessedEvent
from shared.retention import RetentionJob, shared_prunables
from shared.settings import RetentionSettings
from tests.conftest import Infra
from tests.support.infra import new_database_url

NOW = utcnow()
SETTINGS = RetentionSettings(batch_size=2)  # 7 / 7 / 30 days by default
OLD, RECENT = NOW - timedelta(days=40), NOW - timedelta(days=1)


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[Database]:
    url = await new_database_url(infra.database, infra.tmp_dir, "retention")
    await asyncio.to_thread(upgrade, "notifications", url)  # the service with all three tables
    database = Database(url)
    try:
        yield database
    finally:
        await database.dispose()


def job(db: Database) -> RetentionJob:
    return RetentionJob(db, [*shared_prunables(SETTINGS), finished_deliveries(SETTINGS)], SETTINGS)


def outbox_row(label: str, *, created: datetime, published: datetime | None) -> OutboxRecord:
    return OutboxRecord(
        event_id=uuid4(),
        event_type="test.event",
        stream="test",
        key=label,
        payload="{}",
        created_at=created,
        published_at=published,
    )


def delivery(label: str, status: str, *, created: datetime, finished: datetime | None) -> Delivery:
    return Delivery(
        source_event_id=uuid4(),
        source_event_type="allocation.proposed",
        subject_id=label,
        correlation_id="c",
        recipient=label,
        channel="email",
        target="x@example.org",
        locale="uk",
        title="t",
        body="b",
        status=status,
        created_at=created,
        finished_at=finished,
    )


async def keys(db: Database, query: str) -> set[str]:
    async with db.engine.connect() as connection:
        return {str(row[0]) for row in await connection.execute(sa.text(query))}


async def test_published_outbox_rows_created_before_the_age_go_unpublished_never(db: Database) -> None:
    async with db.session() as session, session.begin():
        session.add_all([outbox_row(f"old-{n}", created=OLD, published=OLD) for n in range(5)])
        session.add(outbox_row("old-unpublished", created=OLD, published=None))
        session.add(outbox_row("recent", created=RECENT, published=RECENT))
        # Published again by a replay yesterday: its age still counts from its creation (module doc).
        session.add(outbox_row("created-old-replayed-recently", created=OLD, published=RECENT))

    deleted = await job(db).round(now=NOW)

    assert deleted is not None
    assert deleted["outbox"] == 6
    assert await keys(db, "SELECT key FROM outbox") == {"old-unpublished", "recent"}
    assert (await job(db).round(now=NOW + timedelta(days=365)))["outbox"] == 1  # type: ignore[index]
    assert await keys(db, "SELECT key FROM outbox") == {"old-unpublished"}


def test_processed_events_are_kept_at_least_as_long_as_the_outbox() -> None:
    with pytest.raises(ValueError, match="RETENTION_PROCESSED_EVENTS_DAYS"):
        RetentionSettings(outbox_days=10, processed_events_days=7)
    assert RetentionSettings(outbox_days=7, processed_events_days=7).outbox_days == 7


async def test_processed_events_older_than_the_age_go(db: Database) -> None:
    async with db.session() as session, session.begin():
        for n, handled in enumerate([OLD, OLD, OLD, NOW - timedelta(days=8), RECENT]):
            session.add(
                ProcessedEvent(
                    consumer="notifications",
                    event_id=uuid4(),
                    event_type=f"e{n}",
                    topic="t",
                    partition=0,
                    offset=n,
                    handled_at=handled,
                )
            )

    deleted = await job(db).round(now=NOW)

    assert deleted is not None
    assert deleted["processed_events"] == 4
    assert await keys(db, "SELECT event_type FROM processed_events") == {"e4"}


async def test_finished_deliveries_go_with_their_attempts_pending_ones_never(db: Database) -> None:
    rows = [
        delivery("delivered", "delivered", created=OLD, finished=OLD),
        delivery("failed", "failed", created=OLD, finished=OLD),
        delivery("cancelled", "cancelled", created=OLD, finished=OLD),
        delivery("pending", "pending", created=OLD, finished=None),
        delivery("recent", "delivered", created=RECENT, finished=RECENT),
    ]
    async with db.session() as session, session.begin():
        session.add_all(rows)
        await session.flush()
        for number, row in enumerate(rows, start=1):
            session.add(
                DeliveryAttempt(
                    delivery_id=row.id,
                    number=number,
                    started_at=OLD,
                    finished_at=OLD,
                    duration_ms=1.0,
                    outcome="retry" if row.status == "pending" else row.status,
                )
            )

    deleted = await job(db).round(now=NOW)

    assert deleted is not None
    assert deleted["deliveries"] == 3
    assert await keys(db, "SELECT recipient FROM deliveries") == {"pending", "recent"}
    attempts = await keys(
        db, "SELECT d.recipient FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id"
    )
    assert attempts == {"pending", "recent"}
    assert await keys(db, "SELECT count(*) FROM delivery_attempts") == {"2"}
