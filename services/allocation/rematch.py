"""Matching with I/O: read a category's unmet demand and free stock, run the engine, record its answer.

Runs inside the transaction that changed demand or stock, after that transaction took the category's
lock (``locks.lock_category``), so the proposals commit or vanish together with their cause.

Invariant: after every run, no unmet demand of a category fits any of its free stock (the engine's
answer is maximal). So new stock, or stock coming back, must be matched against the whole backlog,
but a *new demand* can only take stock nobody else could use: it is matched alone (``only``), at the
cost of the free stock, not of the backlog, with the same proposals the whole run would make.

A big backlog is matched in slices of ``REMATCH_SLICE_SIZE`` requests in order of service (``backlog``),
the first here and the rest by the ``continuation`` job, when slicing cannot change the answer
(``start_run``); where the run stands is committed with each slice, and while it is in progress a new
request waits for its end (``backlog``). What a run writes, and how, is ``outcomes``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation import backlog, ledger, matching
from services.allocation.backlog import Continuation, Deferred, ServiceKey, next_unmet, service_key
from services.allocation.donors import donors_by_id
from services.allocation.locks import lock_category
from services.allocation.models import Allocation, Demand, Lot
from services.allocation.outcomes import Causes, matching_actor, record_proposals, report_waitlist
from services.allocation.settings import Policy
from shared.db import flushed_connection, utcnow
from shared.events.envelope import CloudEvent
from shared.geography import distance_km, get_region


@dataclass
class MatchOutcome:
    """What one or more matching runs changed: new proposals and new waitlist reports."""

    proposed: list[UUID] = field(default_factory=list)  # new allocations' ids, in order of service
    waitlisted: dict[UUID, int] = field(default_factory=dict)  # request id → units reported waiting

    def add(self, other: MatchOutcome) -> None:
        """Fold another run's outcome into this one."""
        self.proposed.extend(other.proposed)
        self.waitlisted.update(other.waitlisted)


async def rematch(
    session: AsyncSession,
    *,
    category: str,
    policy: Policy,
    cause: CloudEvent | None,
    now: datetime | None = None,
) -> MatchOutcome:
    """Propose the category's free stock for its unmet demand; the caller holds the category's lock.

    With ``policy.runs`` a big backlog is matched in slices: this transaction matches the first, the
    ``continuation`` job the rest, each in its own transaction (``start_run``).
    """
    now = now or utcnow()
    if policy.runs is None:
        return await match_demands(
            session, await unmet_demands(session, category, None), policy=policy, cause=cause, now=now
        )
    return await start_run(session, category=category, policy=policy, cause=cause, now=now)


async def match_new(
    session: AsyncSession,
    *,
    category: str,
    new: Mapping[UUID, CloudEvent | None],
    policy: Policy,
    now: datetime | None = None,
) -> MatchOutcome:
    """Match requests whose demand is new, together, each proposal caused by its own request's event.

    The rest of the backlog cannot change (module doc): only these can take anything. While a sliced
    run of the category is in progress they wait for its end instead, in this order (``backlog``).
    """
    runs = policy.runs
    if runs is not None and await backlog.in_progress(session, category):
        for request_id, cause in new.items():
            await backlog.defer(session, category, Deferred(request_id, cause, matching_actor()))
        backlog.after_commit(session, runs.ring)
        return MatchOutcome()
    demands = await unmet_demands(session, category, list(new))
    return await match_demands(session, demands, policy=policy, cause=None, causes=new, now=now or utcnow())


async def match_demands(
    session: AsyncSession,
    demands: dict[UUID, Demand],
    *,
    policy: Policy,
    cause: CloudEvent | None,
    now: datetime,
    ranked_before: int = 0,
    lots: dict[UUID, Lot] | None = None,
    causes: Mapping[UUID, CloudEvent | None] | None = None,
) -> MatchOutcome:
    """Match these demands of one category against its free stock, record proposals and waitlist reports.

    ``ranked_before``: unmet demands ahead of these in the order of service (earlier slices of a run);
    ``causes``: a request's own cause, where it is not the run's ``cause``.
    """
    if not demands:
        return MatchOutcome()
    category = next(iter(demands.values())).category
    if lots is None:
        lots = await _free_lots(session, category)
    proposals = matching.Proposals.none()
    if lots:
        rejected = await _rejected_lots(session, category, list(demands))
        proposals = _propose(demands, lots, rejected).ranked_after(ranked_before)
    outcome = MatchOutcome()
    taken: Counter[UUID] = Counter()
    caused = Causes(cause, causes or {})
    if proposals:
        taken = proposals.units_by_request()
        await ledger.reserve(session, lots=proposals.units_by_lot(), demands=taken)
        donors = await donors_by_id(session, {lots[proposal.lot_id].donor_id for proposal in proposals})
        outcome.proposed = await record_proposals(
            session, proposals, demands, lots, donors, policy=policy, causes=caused, now=now
        )
    outcome.waitlisted = await report_waitlist(session, demands, taken, causes=caused)
    return outcome


async def start_run(
    session: AsyncSession, *, category: str, policy: Policy, cause: CloudEvent | None, now: datetime
) -> MatchOutcome:
    """Match the backlog's first slice here; leave the rest to ``continuation`` if slicing is exact.

    Slices equal one big run when no unmet demand fits two lots with free stock (``_partitioned``):
    then no demand has a choice of lot or can be moved by the exchange search, so each one's
    proposals depend only on the demands ahead of it and the stock they left. Otherwise the whole
    backlog is matched here, in this one transaction, as before.
    """
    runs = policy.runs
    assert runs is not None
    await backlog.refresh_ranks(session, category)
    lots = await _free_lots(session, category)
    if not await _partitioned(session, category, lots):
        demands = await unmet_demands(session, category, None)
        await backlog.end_backlog(session, category)  # a run in progress: its deferred requests are left
        return await match_demands(session, demands, policy=policy, cause=cause, now=now, lots=lots)
    late = await backlog.deferred_ids(session, category)  # deferred by a run this one replaces
    run = Continuation(
        category, after=None, ranked=0, cause=cause, actor=matching_actor(), now=now, deferred=late
    )
    outcome, cursor = await match_slice(session, run, policy=policy, lots=lots)
    await record_progress(session, run, cursor)
    if not run.backlog_done or run.deferred:
        backlog.after_commit(session, runs.ring)
    return outcome


async def record_progress(
    session: AsyncSession, run: Continuation, cursor: tuple[ServiceKey, int] | None
) -> None:
    """Write where the run stands after a slice, in the slice's own transaction (None: backlog done)."""
    if cursor is None:
        run.backlog_done = True
    else:
        run.after, run.ranked = cursor
    await backlog.save_run(session, run)


async def match_slice(
    session: AsyncSession, run: Continuation, *, policy: Policy, lots: dict[UUID, Lot] | None = None
) -> tuple[MatchOutcome, tuple[ServiceKey, int] | None]:
    """Match the run's next slice; where the run stands after it (None: no demand is left)."""
    assert policy.runs is not None
    if lots is None:
        lots = await _free_lots(session, run.category)
    size = policy.runs.size
    page = await next_unmet(
        session, run.category, after=run.after, limit=size, stale_only=not lots, excluding=run.deferred
    )
    demands = {demand.request_id: demand for demand in page}
    outcome = await match_demands(
        session, demands, policy=policy, cause=run.cause, now=run.now, ranked_before=run.ranked, lots=lots
    )
    if len(page) < size:
        return outcome, None
    return outcome, (service_key(page[-1]), run.ranked + len(page))


async def _partitioned(session: AsyncSession, category: str, lots: dict[UUID, Lot]) -> bool:
    """Whether every unmet demand of the category fits at most one of these lots."""
    if len(lots) <= 1:
        return True
    supplies = [_engine_supply(lot) for lot in lots.values()]
    rejected = await _rejected_lots(session, category, None)
    after: ServiceKey | None = None
    while batch := await next_unmet(session, category, after=after, limit=PARTITION_PAGE):
        for demand in batch:
            wanted = _engine_demand(demand, rejected.get(demand.request_id, frozenset()))
            if sum(matching.is_compatible(wanted, supply) for supply in supplies) > 1:
                return False
        after = service_key(batch[-1])
    return True


PARTITION_PAGE = 2000  # demands read at a time to check a backlog's partition (memory, not a transaction)


async def unmet_demands(
    session: AsyncSession, category: str, among: Sequence[UUID] | None
) -> dict[UUID, Demand]:
    """The category's unmet demands (or only those of these requests), by request id."""
    query = select(Demand).where(
        col(Demand.category) == category, col(Demand.open), ledger.demand_committed() < col(Demand.quantity)
    )
    if among is not None:
        query = query.where(col(Demand.request_id).in_(among))
    rows = await session.exec(query.execution_options(populate_existing=True))
    return {demand.request_id: demand for demand in rows.all()}


async def _free_lots(session: AsyncSession, category: str) -> dict[UUID, Lot]:
    rows = await session.exec(
        select(Lot)
        .where(
            col(Lot.category) == category,
            col(Lot.withdrawn_at).is_(None),
            ledger.lot_committed() < col(Lot.quantity),
        )
        .execution_options(populate_existing=True)
    )
    return {lot.id: lot for lot in rows.all()}


async def _rejected_lots(
    session: AsyncSession, category: str, among: Sequence[UUID] | None
) -> dict[UUID, frozenset[UUID]]:
    """Per open request of the category (None) or of these, the lots a coordinator rejected for it.

    Such a lot is never proposed to that request again.
    """
    query = (
        sa.select(col(Allocation.request_id), col(Allocation.lot_id))
        .join(Demand, col(Demand.request_id) == col(Allocation.request_id))
        .where(col(Demand.category) == category, col(Demand.open), col(Allocation.status) == "rejected")
    )
    if among is not None and len(among) <= ledger.ROWS_PER_STATEMENT:
        query = query.where(col(Allocation.request_id).in_(among))
    rows = await (await flushed_connection(session)).execute(query)
    wanted = None if among is None else set(among)
    excluded: dict[UUID, set[UUID]] = {}
    for request_id, lot_id in rows.all():
        if wanted is None or request_id in wanted:
            excluded.setdefault(request_id, set()).add(lot_id)
    return {request_id: frozenset(lots) for request_id, lots in excluded.items()}


def _propose(
    demands: dict[UUID, Demand], lots: dict[UUID, Lot], rejected: dict[UUID, frozenset[UUID]]
) -> matching.Proposals:
    wanted = [_engine_demand(d, rejected.get(d.request_id, frozenset())) for d in demands.values()]
    offered = [_engine_supply(lot) for lot in lots.values()]
    return matching.propose_allocations(wanted, offered, distance_km=distance_km)


def _engine_demand(demand: Demand, rejected: frozenset[UUID]) -> matching.Demand:
    region = get_region(demand.region)
    return matching.Demand(
        request_id=demand.request_id,
        region=demand.region,
        category=demand.category,
        specs=demand.specs,
        unmet=demand.unmet,
        priority=cast(matching.Priority, demand.priority),
        front_line=region is not None and region.front_line,
        needed_by=demand.needed_by,
        submitted_at=demand.submitted_at,
        excluded_lot_ids=rejected,
    )


def _engine_supply(lot: Lot) -> matching.Supply:
    return matching.Supply(
        lot_id=lot.id,
        donor_id=lot.donor_id,
        category=lot.category,
        specs=lot.specs,
        free=lot.free,
        region=lot.location_region,
        available_from=lot.available_from,
        eligible_regions=None if lot.eligible_regions is None else frozenset(lot.eligible_regions),
    )


async def run_matching(
    session: AsyncSession, *, category: str | None, policy: Policy
) -> tuple[list[str], MatchOutcome]:
    """Re-match one category, or every category with open demand, each in its own transaction."""
    if category is None:
        found = await session.exec(select(Demand.category).where(col(Demand.open)).distinct())
        categories = sorted(found.all())
        await session.commit()  # end the read's implicit transaction before each category's own
    else:
        categories = [category]
    total = MatchOutcome()
    for name in categories:
        async with session.begin():
            await lock_category(session, name)
            total.add(await rematch(session, category=name, policy=policy, cause=None))
    return categories, total
