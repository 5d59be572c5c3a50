"""Links leave the console's database once published: the outbox row of an invitation or reset is erased.

The link row itself is only a hash; without this the outbox would keep every link in clear (SPEC §12).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database
from shared.events.payloads import AccountInvited, AccountPasswordReset
from shared.events.registry import event_type_for
from shared.outbox import OutboxRecord
from shared.service import BackgroundJob, Runtime
from shared.stopping import wait_or_stop

log = logging.getLogger(__name__)
LINK_EVENT_TYPES = tuple(event_type_for(p).ce_type for p in (AccountInvited, AccountPasswordReset))
ERASE_INTERVAL_S = 5.0


async def erase_published_links(*, session: AsyncSession) -> int:
    """Delete the outbox rows of link events the relay has published; returns how many."""
    result = await session.execute(
        sa.delete(OutboxRecord).where(
            col(OutboxRecord.event_type).in_(LINK_EVENT_TYPES), col(OutboxRecord.published_at).is_not(None)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _erase_once(db: Database) -> None:
    async with db.session() as session, session.begin():
        erased = await erase_published_links(session=session)
    if erased:
        log.info("published links erased from the outbox", extra={"count": erased})


def link_eraser_job(interval_s: float = ERASE_INTERVAL_S) -> BackgroundJob:
    """The periodic erasure as a service job (idempotent: every replica may run it)."""

    async def erase_sent_links(runtime: Runtime) -> None:
        while not runtime.stopping.is_set():
            try:
                await _erase_once(runtime.db)
            except (
                sa.exc.SQLAlchemyError,
                OSError,
            ) as exc:  # the database is away: the next round tries again
                log.warning("erasing sent links failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            await wait_or_stop(runtime.stopping, interval_s)

    return erase_sent_links
