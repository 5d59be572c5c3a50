"""Old rows that no longer do anything are deleted in small batches by one job per service.

Published outbox rows (the broker has the events; their age counts from creation, which a replay does
not move), processed-event rows past the window in which a redelivery can still arrive
(docs/contract-notes.md; kept at least as long as outbox rows, ``RetentionSettings``), and a
service's own finished rows (deliveries, ``ServiceDefinition.retained``). Each batch is its own short
transaction; on PostgreSQL only the leading replica prunes (``Leadership``), elsewhere pruning twice
would only delete nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, utcnow
from shared.leadership import Leadership
from shared.outbox import OutboxRecord
from shared.processed_events import PROCESSED_EVENTS_TABLE
from shared.settings import RetentionSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prunable:
    """Rows of one table that may go once ``age`` is older than ``keep``; ``dependents`` go with them.

    ``finished`` says which rows are done with (published, delivered...): no other row is ever deleted.
    ``dependents``: (table, column referencing ``key``) whose rows are deleted first, in the same batch.
    """

    name: str
    table: sa.Table
    key: Sequence[str]
    age: str
    finished: sa.ColumnElement[bool]
    keep: timedelta
    dependents: Sequence[tuple[sa.Table, str]] = ()


async def prune(db: Database, prunable: Prunable, *, now: datetime, batch_size: int) -> int:
    """Delete the finished rows older than the retention, ``batch_size`` per transaction; how many."""
    table = prunable.table
    key = [table.c[name] for name in prunable.key]
    due = sa.and_(prunable.finished, table.c[prunable.age] < now - prunable.keep)
    deleted = 0
    while True:
        async with db.session() as session, session.begin():
            rows = (await session.execute(sa.select(*key).where(due).limit(batch_size))).all()
            if not rows:
                return deleted
            await _delete(session, prunable, [tuple(row) for row in rows])
        deleted += len(rows)
        if len(rows) < batch_size:
            return deleted


async def _delete(session: AsyncSession, prunable: Prunable, keys: list[tuple[Any, ...]]) -> None:
    table = prunable.table
    if len(prunable.key) == 1:
        chosen: sa.ColumnElement[bool] = table.c[prunable.key[0]].in_([k[0] for k in keys])
    else:
        columns = sa.tuple_(*(table.c[name] for name in prunable.key))
        chosen = columns.in_(keys)
    for dependent, column in prunable.dependents:
        await session.execute(sa.delete(dependent).where(dependent.c[column].in_([k[0] for k in keys])))
    await session.execute(sa.delete(table).where(chosen))


def shared_prunables(settings: RetentionSettings) -> list[Prunable]:
    """What every service prunes: its published outbox rows and its consumers' processed events."""
    outbox: sa.Table = OutboxRecord.__table__  # type: ignore[attr-defined]
    return [
        Prunable(
            name="outbox",
            table=outbox,
            key=("id",),
            # By creation, which a replay (publishing the row again) does not move: every event a
            # consumer handled was created before, so its processed-event row outlives its outbox row.
            age="created_at",
            finished=outbox.c.published_at.is_not(None),
            keep=timedelta(days=settings.outbox_days),
        ),
        Prunable(
            name="processed_events",
            table=PROCESSED_EVENTS_TABLE,
            key=("consumer", "event_id"),
            age="handled_at",
            finished=sa.true(),
            keep=timedelta(days=settings.processed_events_days),
        ),
    ]


async def prune_all(
    db: Database, prunables: Sequence[Prunable], *, now: datetime, batch_size: int
) -> dict[str, int]:
    """One round over every table; rows deleted per table."""
    return {p.name: await prune(db, p, now=now, batch_size=batch_size) for p in prunables}


class RetentionJob:
    """The periodic pruning of one service, led by one replica per database."""

    def __init__(self, db: Database, prunables: Sequence[Prunable], settings: RetentionSettings) -> None:
        self.db, self.prunables, self.settings = db, list(prunables), settings

    async def round(self, now: datetime | None = None) -> dict[str, int] | None:
        """Prune once if this replica leads (None if it does not)."""
        leadership = Leadership(self.db, "retention")
        try:
            if not await leadership.acquire():
                return None
            deleted = await prune_all(
                self.db, self.prunables, now=now or utcnow(), batch_size=self.settings.batch_size
            )
        finally:
            await leadership.release()
        if any(deleted.values()):
            log.info("old rows pruned", extra={"deleted": deleted})
        return deleted
