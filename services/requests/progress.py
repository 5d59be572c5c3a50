"""A request's progress: its timeline, and its quantities and status recomputed from its allocations.

Shared by the write path (``service.py``) and the read model of allocation outcomes (``read_model.py``).
"""

from __future__ import annotations

from typing import cast
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests import events
from services.requests.domain import (
    AllocationView,
    Quantities,
    Stage,
    derive_status,
    quantities_from,
    summarize,
)
from services.requests.models import Request, RequestAllocation, TimelineEntry
from shared.events.envelope import CloudEvent
from shared.outbox import emit


async def locked_request(session: AsyncSession, request_id: UUID) -> Request | None:
    """The request row, locked for this transaction (PostgreSQL; SQLite already serialises writers)."""
    return await session.get(Request, request_id, with_for_update=True, populate_existing=True)


async def settle(session: AsyncSession, request: Request, *, cause: CloudEvent) -> None:
    """Recompute quantities and status; announce a new status, and fulfilment once it happens."""
    await session.flush()
    rows = await session.exec(select(RequestAllocation).where(RequestAllocation.request_id == request.id))
    q = quantities_from(
        request.quantity,
        [allocation_view(row) for row in rows.all()],
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
    emit(session, events.request_status_changed(request, q, previous), source=events.SOURCE, caused_by=cause)
    if status == "fulfilled":
        fulfilled = events.request_fulfilled(request, q)
        event = emit(session, fulfilled, source=events.SOURCE, caused_by=cause)
        await add_timeline(session, request, event, summarize(fulfilled))


async def add_timeline(session: AsyncSession, request: Request, event: CloudEvent, summary: str) -> None:
    """Append an event to the request's timeline (processed-event ids make each event arrive here once).

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


def allocation_view(row: RequestAllocation) -> AllocationView:
    """A stored allocation as the domain sees it."""
    return AllocationView(quantity=row.quantity, stage=cast(Stage, row.stage), received=row.received)
