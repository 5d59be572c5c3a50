"""A category's unmet demand read in order of service, a slice at a time, and the re-matches in progress.

A big change of stock is matched in slices (``rematch``): each slice is the next ``size`` unmet
demands in the engine's order of service, keyed in SQL exactly as ``matching.service_order`` sorts
(priority, front-line, needed_by, submitted_at, request id), so slices taken one after another are
the one big run's demands, in its order, and no slice holds more than ``size`` demands in memory.

Where a run stands is a row of ``rematch_runs`` written in the transaction of each slice, and the new
requests deferred meanwhile rows of ``rematch_deferred`` written with their demand: a slice and its
cursor commit together, so a process that stops mid-run leaves the run where its last slice left it,
and whichever process runs the ``continuation`` job next (this one restarted, or another replica)
goes on from there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation import ledger, matching
from services.allocation.models import Demand, RematchDeferred, RematchRun
from shared.db import flushed_connection
from shared.events.envelope import CloudEvent
from shared.geography import all_regions, get_region

ServiceKey = tuple[int, int, date, datetime, UUID]
_AFTER_COMMIT = "vidnova.allocation.after_commit"
_LISTENING = "vidnova.allocation.after_commit_listening"


def service_key_sql() -> tuple[sa.ColumnElement[Any], ...]:
    """``matching.service_order`` as SQL: the same tuple, compared the same way, and indexed."""
    return tuple(
        cast(sa.ColumnElement[Any], col(c))
        for c in (
            Demand.priority_rank,
            Demand.front_line_rank,
            Demand.needed_by,
            Demand.submitted_at,
            Demand.request_id,
        )
    )


def service_key(demand: Demand) -> ServiceKey:
    """A demand's place in the order of service (its row's ``service_key_sql``)."""
    return (
        demand.priority_rank,
        demand.front_line_rank,
        demand.needed_by,
        demand.submitted_at,
        demand.request_id,
    )


def ranks(priority: str, region: str) -> tuple[int, int]:
    """A demand's ``priority_rank`` and ``front_line_rank``: ``matching.service_order``'s first two keys."""
    found = get_region(region)
    rank = matching.PRIORITY_RANK[priority]  # type: ignore[index]  # a Priority by contract
    return rank, 0 if found is not None and found.front_line else 1


def rank_sql(
    priority: sa.ColumnElement[Any], region: sa.ColumnElement[Any]
) -> tuple[sa.ColumnElement[int], sa.ColumnElement[int]]:
    """``ranks`` as SQL over a row's priority and region."""
    front_line = [found.code for found in all_regions() if found.front_line]
    return (
        sa.case(dict(matching.PRIORITY_RANK), value=priority, else_=len(matching.PRIORITY_RANK)),
        sa.case((region.in_(front_line), 0), else_=1),
    )


async def refresh_ranks(session: AsyncSession, category: str) -> None:
    """Bring the open demands' stored ranks in line with ``ranks`` before a run reads them in order.

    Ranks are written with each demand, so this changes nothing unless the code's ranks changed since
    (a region joined or left the front line), or rows were written without them.
    """
    priority, front_line = rank_sql(
        cast(sa.ColumnElement[Any], col(Demand.priority)), cast(sa.ColumnElement[Any], col(Demand.region))
    )
    await (await flushed_connection(session)).execute(
        sa.update(Demand)
        .where(
            col(Demand.category) == category,
            col(Demand.open),
            sa.or_(col(Demand.priority_rank) != priority, col(Demand.front_line_rank) != front_line),
        )
        .values(priority_rank=priority, front_line_rank=front_line)
    )


async def next_unmet(
    session: AsyncSession,
    category: str,
    *,
    after: ServiceKey | None,
    limit: int,
    stale_only: bool = False,
    excluding: Sequence[UUID] = (),
) -> list[Demand]:
    """The next ``limit`` unmet demands of the category after ``after``, in order of service.

    ``stale_only``: only those whose last waitlist report differs from their unmet units (the only
    ones a slice with no free stock left can change); ``excluding``: requests submitted during the run.
    """
    key = service_key_sql()
    unmet = col(Demand.quantity) - ledger.demand_committed()
    query = select(Demand).where(col(Demand.category) == category, col(Demand.open), unmet > 0)
    if stale_only:
        query = query.where(col(Demand.waitlisted_reported) != unmet)
    if excluding:
        query = query.where(col(Demand.request_id).not_in(excluding))
    if after is not None:
        bound = [sa.bindparam(None, value, type_=expr.type) for expr, value in zip(key, after, strict=True)]
        query = query.where(sa.tuple_(*key) > sa.tuple_(*bound))
    query = query.order_by(*key).limit(limit).execution_options(populate_existing=True)
    return list((await session.exec(query)).all())


@dataclass(frozen=True)
class Deferred:
    """A new request's own matching, put off until the category's re-match in progress ends."""

    request_id: UUID
    cause: CloudEvent | None
    actor: str


@dataclass
class Continuation:
    """Where a sliced re-match of one category stands between two of its transactions."""

    category: str
    after: ServiceKey | None  # the last demand matched; None: the run has not started
    ranked: int  # unmet demands in the slices already matched: the next slice's ranks start after them
    cause: CloudEvent | None
    actor: str
    now: datetime
    deferred: list[UUID] = field(default_factory=list)  # requests matched alone once the run ends
    backlog_done: bool = False  # every slice matched; the deferred requests are left


class RematchRuns:
    """How many requests a slice takes, and the bell that wakes this process's ``continuation`` job."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.wake: Any = None  # an asyncio.Event set by the job that drains the runs

    def ring(self) -> None:
        """A run was started or a request deferred: the job has work."""
        if self.wake is not None:
            self.wake.set()


def _envelope(cause: CloudEvent | None) -> dict[str, Any] | None:
    return None if cause is None else cause.model_dump(mode="json")


def _event(envelope: dict[str, Any] | None) -> CloudEvent | None:
    return None if envelope is None else CloudEvent.model_validate(envelope)


async def in_progress(session: AsyncSession, category: str) -> bool:
    """Whether a sliced re-match of the category has work left (read under the category's lock)."""
    found = await session.exec(select(RematchRun.category).where(col(RematchRun.category) == category))
    return found.first() is not None


async def categories_in_progress(session: AsyncSession) -> list[str]:
    """Categories with a run in progress, oldest first."""
    query = select(RematchRun.category).order_by(col(RematchRun.started_at), col(RematchRun.category))
    return list((await session.exec(query)).all())


async def load_run(session: AsyncSession, category: str) -> Continuation | None:
    """The category's run in progress, if any, with the requests deferred meanwhile."""
    row = await session.get(RematchRun, category, populate_existing=True)
    if row is None:
        return None
    after: ServiceKey | None = None
    if row.after_request_id is not None:
        after = (
            cast(int, row.after_rank),
            cast(int, row.after_front_line),
            cast(date, row.after_needed_by),
            cast(datetime, row.after_submitted_at),
            row.after_request_id,
        )
    deferred = await session.exec(
        select(RematchDeferred.request_id)
        .where(col(RematchDeferred.category) == category)
        .order_by(col(RematchDeferred.id))
    )
    return Continuation(
        category=category,
        after=after,
        ranked=row.ranked,
        cause=_event(row.cause),
        actor=row.actor,
        now=row.started_at,
        deferred=list(deferred.all()),
        backlog_done=row.backlog_done,
    )


async def deferred_ids(session: AsyncSession, category: str) -> list[UUID]:
    """Requests deferred by the category's run in progress (none if there is none)."""
    found = await session.exec(
        select(RematchDeferred.request_id).where(col(RematchDeferred.category) == category)
    )
    return list(found.all())


async def save_run(session: AsyncSession, run: Continuation) -> None:
    """Record where the run stands, in the transaction of the slice that got it there.

    A new run of a category replaces the old one (it starts from the top); the requests the old one
    deferred stay deferred. A run whose backlog is done and nothing deferred is over: its row goes.
    """
    row = await session.get(RematchRun, run.category, populate_existing=True)
    if run.backlog_done and not run.deferred:
        if row is not None:
            await session.delete(row)
        return
    if row is None:
        row = RematchRun(category=run.category, actor=run.actor, started_at=run.now)
    rank, front_line, needed_by, submitted_at, request_id = run.after or (None, None, None, None, None)
    row.after_rank, row.after_front_line, row.after_needed_by = rank, front_line, needed_by
    row.after_submitted_at, row.after_request_id = submitted_at, request_id
    row.ranked, row.backlog_done, row.actor, row.started_at = run.ranked, run.backlog_done, run.actor, run.now
    row.cause = _envelope(run.cause)
    session.add(row)


async def end_backlog(session: AsyncSession, category: str) -> None:
    """The whole backlog was just matched: a run in progress has only its deferred requests left."""
    run = await load_run(session, category)
    if run is not None:
        run.backlog_done = True
        await save_run(session, run)


async def defer(session: AsyncSession, category: str, deferred: Deferred) -> None:
    """Put a new request's matching off until the category's run ends (commits with its demand)."""
    envelope = _envelope(deferred.cause)
    session.add(
        RematchDeferred(
            category=category, request_id=deferred.request_id, cause=envelope, actor=deferred.actor
        )
    )


async def next_deferred(session: AsyncSession, category: str) -> Deferred | None:
    """Take the first request the category's run deferred (its row goes with this transaction)."""
    found = await session.exec(
        select(RematchDeferred)
        .where(col(RematchDeferred.category) == category)
        .order_by(col(RematchDeferred.id))
        .limit(1)
    )
    row = found.first()
    if row is None:
        return None
    await session.delete(row)
    return Deferred(request_id=row.request_id, cause=_event(row.cause), actor=row.actor)


def after_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    """Run ``action`` once this session's transaction commits; drop it if the transaction rolls back."""
    sync = session.sync_session
    if not sync.info.get(_LISTENING):
        sa.event.listen(sync, "after_commit", _run_after_commit)
        sa.event.listen(sync, "after_rollback", _drop_after_commit)
        sync.info[_LISTENING] = True
    sync.info.setdefault(_AFTER_COMMIT, []).append(action)


def _run_after_commit(sync: Session) -> None:
    for action in sync.info.pop(_AFTER_COMMIT, []):
        action()


def _drop_after_commit(sync: Session) -> None:
    sync.info.pop(_AFTER_COMMIT, None)
