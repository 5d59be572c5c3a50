"""The notifications migrations build exactly the tables the models describe (and keep old rows)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.notifications import models
from shared.dead_letters import DeadLetter
from shared.migrations import upgrade
from shared.outbox import OutboxRecord
from shared.processed_events import ProcessedEvent

TABLES = (
    models.Notification, models.InboxSequence, models.NotificationRead, models.Subscription,
    models.Delivery, models.DeliveryAttempt, models.StreamTicket, OutboxRecord, ProcessedEvent, DeadLetter,
)  # fmt: skip


def service_metadata() -> sa.MetaData:
    """This service's tables only (other services' models may share SQLModel's metadata in a run)."""
    metadata = sa.MetaData()
    for model in TABLES:
        model.__table__.to_metadata(metadata)  # type: ignore[attr-defined]
    return metadata


async def test_migrations_match_the_models_and_keep_existing_inbox_items(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/notifications.db"
    await asyncio.to_thread(upgrade, "notifications", url, "0001")
    engine = sa.create_engine(f"sqlite:///{tmp_path}/notifications.db")
    try:
        with engine.begin() as connection:
            for audience in ("coordinators", "coordinators", "region:UA-63"):
                connection.execute(
                    sa.text(
                        "INSERT INTO notifications (id, audience, source_event_id, source_event_type,"
                        " subject_id, title, body, created_at)"
                        " VALUES (:id, :audience, :event, 'vidnova.request.waitlisted.v1', 's', 'T', 'B',"
                        " CURRENT_TIMESTAMP)"
                    ),
                    {"id": uuid.uuid4().hex, "audience": audience, "event": uuid.uuid4().hex},
                )
        await asyncio.to_thread(upgrade, "notifications", url)
        with engine.begin() as connection:
            positions = connection.execute(
                sa.text("SELECT audience, seq FROM notifications ORDER BY audience, seq")
            ).all()
            counters = dict(
                connection.execute(sa.text("SELECT audience, last_seq FROM inbox_sequences")).all()
            )
            drift = compare_metadata(MigrationContext.configure(connection), service_metadata())
    finally:
        engine.dispose()
    assert [tuple(row) for row in positions] == [
        ("coordinators", 1),
        ("coordinators", 2),
        ("region:UA-63", 1),
    ]
    assert counters == {"coordinators": 2, "region:UA-63": 1}
    assert drift == []
