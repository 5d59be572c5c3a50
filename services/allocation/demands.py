"""Use cases driven by the requests service's events: new demand, new priority, cancellation.

Each runs in the consumer's inbox transaction, takes the category's lock first and re-matches the
category before it commits, so the demand change and its consequences are one atomic step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation.backlog import ranks
from services.allocation.lifecycle import release_all
from services.allocation.locks import lock_category
from services.allocation.models import Demand
from services.allocation.rematch import MatchOutcome, match_new, rematch
from services.allocation.settings import Policy
from shared.db import flushed_connection, utcnow
from shared.events.envelope import CloudEvent
from shared.events.payloads import RequestCancelled, RequestSubmitted, RequestUpdated


async def record_demand(
    session: AsyncSession, payload: RequestSubmitted, *, policy: Policy, cause: CloudEvent
) -> MatchOutcome:
    """Record a new request's demand and match it (a demand already known is left alone)."""
    return await record_demands(session, [(payload, cause)], policy=policy)


async def record_demands(
    session: AsyncSession, submitted: Sequence[tuple[RequestSubmitted, CloudEvent]], *, policy: Policy
) -> MatchOutcome:
    """Record new requests' demands (those already known are left alone) and match them.

    A consumer batch's requests of one category are matched together: one lock, one read of the free
    stock, one engine run, a few statements, in the order of service among them (handled one by one,
    the earlier arrival would be served first). Categories are locked in name order.
    """
    by_category: dict[str, dict[UUID, tuple[RequestSubmitted, CloudEvent]]] = {}
    for payload, cause in submitted:  # a request twice under two event ids: its first event counts
        by_category.setdefault(payload.category, {}).setdefault(payload.request_id, (payload, cause))
    outcome = MatchOutcome()
    for category in sorted(by_category):
        await lock_category(session, category)
        arrived = by_category[category]
        found = await session.exec(select(Demand.request_id).where(col(Demand.request_id).in_(list(arrived))))
        known = set(found.all())
        new = {request_id: pair for request_id, pair in arrived.items() if request_id not in known}
        if not new:
            continue
        await (await flushed_connection(session)).execute(
            sa.insert(DEMANDS), [_demand_row(payload) for payload, _ in new.values()]
        )
        # Only the new demands can take anything: the backlog already fits none of the free stock.
        causes = {request_id: cause for request_id, (_, cause) in new.items()}
        outcome.add(await match_new(session, category=category, new=causes, policy=policy))
    return outcome


DEMANDS: sa.Table = Demand.__table__  # type: ignore[attr-defined]


def _demand_row(payload: RequestSubmitted) -> dict[str, Any]:
    """A new demand's row (Core: an ORM object costs ~1 ms to construct here), every counter at zero."""
    priority_rank, front_line_rank = ranks(payload.priority, payload.region)
    return {
        "request_id": payload.request_id,
        "ref": payload.ref,
        "region": payload.region,
        "settlement": payload.settlement,
        "facility_name": payload.facility.name,
        "facility_kind": payload.facility.kind,
        "category": payload.category,
        "specs": payload.specs,
        "quantity": payload.quantity,
        "priority": payload.priority,
        "priority_rank": priority_rank,
        "front_line_rank": front_line_rank,
        "needed_by": payload.needed_by,
        "submitted_at": payload.submitted_at,
        "open": True,
        **dict.fromkeys(("proposed", "approved", "dispatched", "delivered", "waitlisted_reported"), 0),
        "closed_at": None,
    }


async def change_priority(
    session: AsyncSession, payload: RequestUpdated, *, policy: Policy, cause: CloudEvent
) -> MatchOutcome:
    """Take the new priority into the order of service; its unmet units are matched again."""
    demand = await _locked_demand(session, payload.request_id)
    demand.priority = payload.priority
    demand.priority_rank, demand.front_line_rank = ranks(payload.priority, demand.region)
    await session.flush()
    if not demand.open:
        return MatchOutcome()
    return await rematch(session, category=demand.category, policy=policy, cause=cause)


async def cancel_demand(
    session: AsyncSession, payload: RequestCancelled, *, policy: Policy, cause: CloudEvent
) -> MatchOutcome:
    """Close the demand and release what was not dispatched; the freed stock serves other requests."""
    demand = await _locked_demand(session, payload.request_id)
    if not demand.open:
        return MatchOutcome()
    now = utcnow()
    demand.open = False
    demand.closed_at = now
    await session.flush()
    reason = f"request {payload.ref} {payload.status} by {payload.cancelled_by}: {payload.reason}"
    await release_all(session=session, demand=demand, reason=reason, cause=cause, now=now)
    return await rematch(session, category=demand.category, policy=policy, cause=cause, now=now)


async def _locked_demand(session: AsyncSession, request_id: UUID) -> Demand:
    known = await session.get(Demand, request_id)
    if known is None:
        # request.submitted precedes every other event of a request on its partition: this one
        # belongs to no request of this deployment. Failing dead-letters it after the retries.
        raise LookupError(f"request {request_id} is unknown to the allocation service")
    await lock_category(session, known.category)
    demand = await session.get(Demand, request_id, populate_existing=True)
    assert demand is not None  # demands are never deleted
    return demand
