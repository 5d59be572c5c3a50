"""Events the allocation service consumes: demand from the requests service."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation.models import Demand
from shared.consumer import Handler, Subscription
from shared.events.envelope import CloudEvent
from shared.events.payloads import Payload, RequestSubmitted, RequestWaitlisted
from shared.outbox import emit

SOURCE = "allocation"


async def on_request_submitted(
    payload: RequestSubmitted, *, event: CloudEvent, session: AsyncSession
) -> None:
    """Record the demand; with no inventory registered in the system yet, it is waitlisted."""
    demand = Demand(
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
        needed_by=payload.needed_by,
        submitted_at=payload.submitted_at,
    )
    session.add(demand)
    emit(
        session,
        RequestWaitlisted(
            request_id=payload.request_id,
            ref=payload.ref,
            region=payload.region,
            category=payload.category,
            priority=payload.priority,
            unmet_quantity=payload.quantity,
            reason=f"no {payload.category} stock is registered that fits",
        ),
        source=SOURCE,
        caused_by=event,
    )


HANDLERS: dict[type[Payload], Handler] = {RequestSubmitted: on_request_submitted}
SUBSCRIPTION = Subscription(group="allocation", streams=("requests",), handlers=HANDLERS)
