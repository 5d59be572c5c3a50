"""The read model: allocation outcomes → each request's quantities, status and timeline.

Handlers run inside the consumer's processed-event transaction, so a redelivered event never gets here twice;
out-of-order arrival is absorbed by keeping, per allocation, only the furthest stage seen
(``domain.STAGE_RANK``) and, for the waitlist snapshot, only the newest by event time.
"""

from __future__ import annotations

from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests.domain import advance, summarize, view_of
from services.requests.models import Request, RequestAllocation
from services.requests.progress import add_timeline, allocation_view, locked_request, settle
from shared.events import payloads as p
from shared.events.envelope import CloudEvent


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
    elif advance(allocation_view(row), incoming) is incoming:
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


async def _require_request(session: AsyncSession, request_id: UUID) -> Request:
    request = await locked_request(session, request_id)
    if request is None:
        # Requests are created here before any allocation can exist: this event belongs to no request
        # of this deployment. Failing sends it to the dead-letter topic after the bounded retries.
        raise LookupError(f"request {request_id} is unknown to this service")
    return request
