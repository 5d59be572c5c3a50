"""Events the requests service consumes to keep each request's quantities, status and timeline."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests.models import Request
from services.requests.service import add_timeline, refresh_status
from shared.consumer import Handler, Subscription
from shared.events.envelope import CloudEvent
from shared.events.payloads import Payload, RequestWaitlisted


async def on_request_waitlisted(
    payload: RequestWaitlisted, *, event: CloudEvent, session: AsyncSession
) -> None:
    """Nothing fits now: record the unmet units as waitlisted."""
    request = await session.get(Request, payload.request_id, with_for_update=True)
    if request is None:
        raise LookupError(f"request {payload.request_id} is unknown to this service")
    request.waitlisted = payload.unmet_quantity
    refresh_status(request)
    add_timeline(session, request, event, f"{payload.unmet_quantity} unit(s) waitlisted: {payload.reason}")


HANDLERS: dict[type[Payload], Handler] = {RequestWaitlisted: on_request_waitlisted}
SUBSCRIPTION = Subscription(group="requests", streams=("allocations",), handlers=HANDLERS)
