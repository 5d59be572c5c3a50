"""Use cases driven by the requests service's events: new demand, new priority, cancellation.

Each runs in the consumer's inbox transaction, takes the category's lock first and re-matches the
category before it commits, so the demand change and its consequences are one atomic step.
"""

from __future__ import annotations

from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation.backlog import ranks
from services.allocation.lifecycle import release_all
from services.allocation.locks import lock_category
from services.allocation.models import Demand
from services.allocation.rematch import MatchOutcome, rematch
from services.allocation.settings import Policy
from shared.db import utcnow
from shared.events.envelope import CloudEvent
from shared.events.payloads import RequestCancelled, RequestSubmitted, RequestUpdated


async def record_demand(
    session: AsyncSession, payload: RequestSubmitted, *, policy: Policy, cause: CloudEvent
) -> MatchOutcome:
    """Record a new request's demand and match it (a demand already known is left alone)."""
    await lock_category(session, payload.category)
    if await session.get(Demand, payload.request_id) is not None:
        return MatchOutcome()  # the same request under another event id: nothing new to do
    priority_rank, front_line_rank = ranks(payload.priority, payload.region)
    session.add(
        Demand(
            request_id=payload.request_id,
            ref=payload.ref,
            region=payload.region,
            settlement=payload.settlement,
            facility_name=payload.facility.name,
            facility_kind=payload.facility.kind,
            category=payload.category,
            specs=payload.specs,
            quantity=payload.quantity,
            priority=payload.priority,
            priority_rank=priority_rank,
            front_line_rank=front_line_rank,
            needed_by=payload.needed_by,
            submitted_at=payload.submitted_at,
        )
    )
    await session.flush()
    # Only the new demand can take anything: the backlog already fits none of the free stock.
    return await rematch(
        session, category=payload.category, policy=policy, cause=cause, only=payload.request_id
    )


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
