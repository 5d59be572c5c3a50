"""Events the requests service consumes to keep each request's quantities, status and timeline."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests import read_model
from services.requests.domain import STAGE_OF_EVENT
from shared.consumer import Handler, Subscription
from shared.events.envelope import CloudEvent
from shared.events.payloads import AllocationEvent, Payload, RequestWaitlisted


async def on_allocation_event(payload: AllocationEvent, *, event: CloudEvent, session: AsyncSession) -> None:
    """An allocation of one of our requests moved: proposed, approved, rejected, … delivered."""
    await read_model.record_allocation_event(session, payload, event=event)


async def on_request_waitlisted(
    payload: RequestWaitlisted, *, event: CloudEvent, session: AsyncSession
) -> None:
    """The allocation service cannot serve some units now."""
    await read_model.record_waitlisted(session, payload, event=event)


HANDLERS: dict[type[Payload], Handler] = {
    RequestWaitlisted: on_request_waitlisted,
    **dict.fromkeys(STAGE_OF_EVENT, on_allocation_event),
}


def subscription() -> Subscription:
    """The ``requests`` consumer group on the allocations stream."""
    return Subscription(group="requests", streams=("allocations",), handlers=HANDLERS)
