"""Operator views of a service's outbox: what was published, and replaying it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from shared.db import Database
from shared.outbox import OutboxRecord, mark_for_replay
from shared.settings import ServiceName
from vidnova.serve import settings_for


async def show(name: ServiceName, *, limit: int, pending_only: bool) -> list[dict[str, Any]]:
    """The newest outbox rows of a service."""
    db = Database(settings_for(name).database_url)
    try:
        async with db.session() as session:
            statement = select(OutboxRecord).order_by(col(OutboxRecord.id).desc()).limit(limit)
            if pending_only:
                statement = statement.where(col(OutboxRecord.published_at).is_(None))
            rows = (await session.exec(statement)).all()
            return [row.model_dump(exclude={"payload"}) for row in rows]
    finally:
        await db.dispose()


async def replay(name: ServiceName, *, since: datetime | None) -> int:
    """Queue stored events for publishing again; the running relay picks them up."""
    db = Database(settings_for(name).database_url)
    try:
        async with db.session() as session, session.begin():
            return await mark_for_replay(session, since=since)
    finally:
        await db.dispose()
