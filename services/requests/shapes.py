"""Row → public shape mappers of the requests service."""

from __future__ import annotations

from services.requests.models import Request, TimelineEntry
from services.requests.progress import quantities_of
from services.requests.schemas import (
    CancellationOut,
    FacilityOut,
    QuantitiesOut,
    RequestOut,
    TimelineEntryOut,
)


def to_public(request: Request, timeline: list[TimelineEntry] | None = None) -> RequestOut:
    """The public shape of a request."""
    q = quantities_of(request)
    return RequestOut(
        id=request.id,
        ref=request.ref,
        region=request.region,
        settlement=request.settlement,
        facility=FacilityOut(name=request.facility_name, kind=request.facility_kind),
        category=request.category,
        specs=request.specs,
        quantity=request.quantity,
        priority=request.priority,
        needed_by=request.needed_by,
        justification=request.justification,
        contact=request.contact,
        created_by=request.created_by,
        created_at=request.created_at,
        status=request.status,
        quantities=QuantitiesOut(
            requested=q.requested,
            proposed=q.proposed,
            approved=q.approved,
            dispatched=q.dispatched,
            delivered=q.delivered,
            waitlisted=q.waitlisted,
        ),
        cancellation=None
        if request.cancelled_at is None
        else CancellationOut(
            at=request.cancelled_at, by=request.cancelled_by or "", reason=request.cancel_reason or ""
        ),
        timeline=None
        if timeline is None
        else [
            TimelineEntryOut(
                event_id=t.event_id, type=t.event_type, at=t.occurred_at, summary=t.summary, data=t.data
            )
            for t in timeline
        ],
    )
