"""Proposals not approved within ``PROPOSAL_TTL_S`` expire; one instance per database sweeps at a time.

The sweep takes its clock as an argument, so tests move time instead of waiting for it. Leadership
(a PostgreSQL advisory lock) only avoids duplicate work: expiring is a guarded transition under the
category's lock, so two sweepers at once would still expire each proposal exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from services.allocation.ledger import StockConflict
from services.allocation.lifecycle import expire_due
from services.allocation.models import Allocation
from services.allocation.settings import ExpirySettings, Policy
from shared.actor import acting_as, system_actor
from shared.db import Database, utcnow
from shared.leadership import lead_periodically
from shared.service import BackgroundJob, Runtime

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
EXPIRY = system_actor("expiry")


async def sweep(db: Database, *, now: datetime, policy: Policy) -> int:
    """Expire every proposal due by ``now``, one category (and transaction) at a time; returns how many."""
    async with db.session() as session:
        due = await session.exec(
            select(Allocation.category)
            .where(col(Allocation.status) == "proposed", col(Allocation.expires_at) <= now)
            .distinct()
        )
        categories = sorted(due.all())
    expired = 0
    with acting_as(EXPIRY):  # what the sweep changes is no one's request (re-matching names itself)
        for category in categories:
            async with db.session() as session, session.begin():
                allocations, _ = await expire_due(session=session, category=category, now=now, policy=policy)
                expired += len(allocations)
    if expired:
        log.info("proposals expired", extra={"count": expired, "categories": categories})
    return expired


def expiry_job(policy: Policy, settings: ExpirySettings, *, clock: Clock = utcnow) -> BackgroundJob:
    """The periodic sweep as a service job, led by one instance per database."""

    async def expire_proposals(runtime: Runtime) -> None:
        async def step() -> None:
            await sweep(runtime.db, now=clock(), policy=policy)

        # The database away or a sweep that lost a race: the next interval tries again.
        retry_on = (sa.exc.SQLAlchemyError, OSError, StockConflict)
        await lead_periodically(
            runtime.db,
            "proposal-expiry",
            runtime.stopping,
            step,
            interval_s=settings.interval_s,
            retry_on=retry_on,
        )

    return expire_proposals
