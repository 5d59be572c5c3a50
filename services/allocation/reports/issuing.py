"""Issue each donor's statement once after its month ends: a row in ``donor_statements`` and the
``donor.statement_issued`` event through the outbox, in one transaction per donor.

The row's key (donor, month) is the arbiter: the insert claims it with ON CONFLICT DO NOTHING, so a
second call, or a second instance at the same moment (PostgreSQL makes it wait on the key, then see
the row), issues nothing again. Leadership only spares the duplicate work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from services.allocation.events import SOURCE
from services.allocation.models import Donor
from services.allocation.reports.models import DonorStatement
from services.allocation.reports.queries import donor_statement
from services.allocation.reports.statement import had_activity, month_period, previous_month
from services.allocation.settings import StatementSettings
from shared.actor import acting_as, system_actor
from shared.db import Database, dialect_insert, read_one_snapshot, utcnow
from shared.leadership import lead_periodically
from shared.outbox import emit
from shared.service import BackgroundJob, Runtime

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
STATEMENTS = system_actor("statements")


@dataclass
class Issued:
    """What one issuing pass did for a month: donors newly issued, and those issued before."""

    month: str
    issued: list[str] = field(default_factory=list)
    already_issued: list[str] = field(default_factory=list)


def is_completed(month: str, now: datetime) -> bool:
    """Whether the month (UTC) has ended by ``now``; ValueError for a malformed month."""
    return month_period(month).end < now.astimezone(UTC).date()


def due_month(now: datetime, delay: timedelta) -> str:
    """The last month whose statements are due by ``now``: the previous one once its end is ``delay`` old."""
    return previous_month(now - delay)


async def issue_statements(db: Database, *, month: str, now: datetime) -> Issued:
    """Issue ``month``'s statement of every registered donor with activity in it and none issued yet."""
    async with db.session() as session:
        donor_ids = list((await session.exec(select(Donor.id).order_by(col(Donor.id)))).all())
        issued_before = set(
            (
                await session.exec(select(DonorStatement.donor_id).where(col(DonorStatement.month) == month))
            ).all()
        )
    done = Issued(month=month, already_issued=[d for d in donor_ids if d in issued_before])
    for donor_id in donor_ids:
        if donor_id in issued_before:
            continue
        async with db.session() as session:  # read only: one snapshot of the projection
            await read_one_snapshot(session)
            donor = await session.get(Donor, donor_id)
            assert donor is not None  # donors are never deleted
            made = await donor_statement(session=session, donor=donor, month=month, now=now)
        if not had_activity(made.totals):
            continue  # nothing to account for: no row, no event
        # Claimed in a transaction of its own (read committed): a concurrent claim of the same key waits
        # for the first to end, then sees its row and does nothing.
        async with db.session() as session:
            claimed = await session.execute(
                dialect_insert(session)(DonorStatement)
                .values(donor_id=donor_id, month=month, issued_at=now)
                .on_conflict_do_nothing(index_elements=["donor_id", "month"])
                .returning(col(DonorStatement.donor_id))
            )
            if claimed.first() is None:
                done.already_issued.append(donor_id)  # another instance issued it a moment ago
                continue
            emit(session, made, source=SOURCE)
            await session.commit()
        done.issued.append(donor_id)
    if done.issued:
        log.info("donor statements issued", extra={"month": month, "donors": done.issued})
    return done


def statement_job(settings: StatementSettings, *, clock: Clock = utcnow) -> BackgroundJob:
    """Checks every ``interval_s`` and issues the previous month's statements once ``delay_s`` has passed
    since the 1st 00:00 UTC, led by one instance per database."""
    delay = timedelta(seconds=settings.delay_s)

    async def issue_due_statements(runtime: Runtime) -> None:
        async def step() -> None:
            now = clock()
            with acting_as(STATEMENTS):
                await issue_statements(runtime.db, month=due_month(now, delay), now=now)

        await lead_periodically(
            runtime.db,
            "donor-statements",
            runtime.stopping,
            step,
            interval_s=settings.interval_s,
            retry_on=(sa.exc.SQLAlchemyError, OSError),
        )

    return issue_due_statements
