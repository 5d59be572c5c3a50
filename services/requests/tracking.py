"""The read model: allocation outcomes → each request's quantities, status and timeline.

Handlers run inside the consumer's inbox transaction, so a redelivered event never gets here twice;
out-of-order arrival is absorbed by keeping, per allocation, only the furthest stage seen
(``domain.STAGE_RANK``) and, for the waitlist snapshot, only the newest by event time.
"""

from __future__ import annotations

from typing import cast
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests.domain import (
    AllocationView,
    Quantities,
    Stage,
    advance,
    derive_status,
    quantities_from,
    summarize,
    view_of,
)
from services.requests.models import Request, RequestAllocation, TimelineEntry
from shared.events import payloads as p
from shared.events.envelope import CloudEvent
from shared.outbox import emit

SOURCE = "requests"


async def locked_request(session: AsyncSession, request_id: UUID) -> Request | None:
    """The request row, locked for this transaction (PostgreSQL; SQLite already serialises writers)."""
    return await session.get(Request, request_id, with_for_update=True, populate_existing=True)


async def record_allocation_event(
    session: AsyncSession, payload: p.AllocationEvent, *, event: CloudEvent
) -> None:
    """Advance one allocation of a request to the stage this event reports, if it is further along."""
    request = await _require_request(session, payload.request_id)
    incoming = view_of(payload)
    rejected = payload.rejected_quantity if isinstance(payload, p.AllocationDelivered) else 0
    row = await session.get(RequestAllocation, payload.allocation_id, with_for_update=True)
    if row is None:
        session.add(
            RequestAllocation(
                allocation_id=payload.allocation_id,
                request_id=payload.request_id,
                lot_id=payload.lot_id,
                donor_id=payload.donor_id,
                quantity=incoming.quantity,
                stage=incoming.stage,
                received=incoming.received,
                rejected=rejected,
                stage_at=event.time,
            )
        )
    elif advance(_view(row), incoming) is incoming:
        row.quantity, row.stage, row.received, row.rejected = (
            incoming.quantity,
            incoming.stage,
            incoming.received,
            rejected,
        )
        row.stage_at = event.time
    await add_timeline(session, request, event, summarize(payload))
    await settle(session, request, cause=event)


async def record_waitlisted(
    session: AsyncSession, payload: p.RequestWaitlisted, *, event: CloudEvent
) -> None:
    """Keep the newest (by event time) count of units the allocation service cannot serve now."""
    request = await _require_request(session, payload.request_id)
    if request.waitlisted_reported_at is None or event.time > request.waitlisted_reported_at:
        request.waitlisted_reported = payload.unmet_quantity
        request.waitlisted_reported_at = event.time
    await add_timeline(session, request, event, summarize(payload))
    await settle(session, request, cause=event)


async def settle(session: AsyncSession, request: Request, *, cause: CloudEvent) -> None:
    """Recompute quantities and status; announce a new status, and fulfilment once it happens."""
    await session.flush()
    rows = await session.exec(select(RequestAllocation).where(RequestAllocation.request_id == request.id))
    q = quantities_from(
        request.quantity,
        [_view(row) for row in rows.all()],
        waitlisted_reported=request.waitlisted_reported,
        cancelled=request.cancelled_at is not None,
    )
    request.proposed, request.approved, request.dispatched = q.proposed, q.approved, q.dispatched
    request.delivered, request.waitlisted = q.delivered, q.waitlisted
    previous = request.status
    status = derive_status(q, cancelled=request.cancelled_at is not None)
    if status == previous:
        return
    request.status = status
    emit(session, _status_changed(request, q, previous), source=SOURCE, caused_by=cause)
    if status == "fulfilled":
        fulfilled = p.RequestFulfilled(
            request_id=request.id, ref=request.ref, region=request.region, delivered_quantity=q.delivered
        )
        event = emit(session, fulfilled, source=SOURCE, caused_by=cause)
        await add_timeline(session, request, event, summarize(fulfilled))


async def add_timeline(session: AsyncSession, request: Request, event: CloudEvent, summary: str) -> None:
    """Append an event to the request's timeline (the inbox makes each event arrive here once).

    A Core insert: an ORM object and its flush cost several times more, on every event (bench).
    The request row must exist already (flushed), as the entry references it.
    """
    row = {
        "request_id": request.id,
        "event_id": event.id,
        "event_type": event.type,
        "occurred_at": event.time,
        "summary": summary,
        "data": event.data,
    }
    await (await session.connection()).execute(TIMELINE.insert(), row)


TIMELINE: sa.Table = TimelineEntry.__table__  # type: ignore[attr-defined]


def quantities_of(request: Request) -> Quantities:
    """The request's stored quantities as a domain value."""
    return Quantities(
        requested=request.quantity,
        proposed=request.proposed,
        approved=request.approved,
        dispatched=request.dispatched,
        delivered=request.delivered,
        waitlisted=request.waitlisted,
    )


def _status_changed(request: Request, q: Quantities, previous: str) -> p.RequestStatusChanged:
    return p.RequestStatusChanged.model_validate(
        {
            "request_id": request.id,
            "ref": request.ref,
            "region": request.region,
            "settlement": request.settlement,
            "facility": {"name": request.facility_name, "kind": request.facility_kind},
            "category": request.category,
            "priority": request.priority,
            "status": request.status,
            "previous_status": previous,
            "quantities": {
                "requested": q.requested,
                "proposed": q.proposed,
                "approved": q.approved,
                "dispatched": q.dispatched,
                "delivered": q.delivered,
                "waitlisted": q.waitlisted,
            },
        }
    )


def _view(row: RequestAllocation) -> AllocationView:
    return AllocationView(quantity=row.quantity, stage=cast(Stage, row.stage), received=row.received)


async def _require_request(session: AsyncSession, request_id: UUID) -> Request:
    request = await locked_request(session, request_id)
    if request is None:
        # Requests are created here before any allocation can exist: this event belongs to no request
        # of this deployment. Failing sends it to the dead-letter topic after the bounded retries.
        raise LookupError(f"request {request_id} is unknown to this service")
    return request
