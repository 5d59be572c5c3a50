"""The notifications service reads every stream and records who must know."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.models import Notification
from services.notifications.routing import notices_for
from shared.consumer import Handler, Subscription
from shared.events.envelope import CloudEvent
from shared.events.payloads import Payload, RequestWaitlisted


async def notify(payload: Payload, *, event: CloudEvent, session: AsyncSession) -> None:
    """Store one inbox item per audience the routing rules name."""
    for notice in notices_for(payload):
        session.add(
            Notification(
                audience=notice.audience,
                source_event_id=event.id,
                source_event_type=event.type,
                subject_id=event.subject,
                title=notice.title,
                body=notice.body,
            )
        )


HANDLERS: dict[type[Payload], Handler] = {RequestWaitlisted: notify}
SUBSCRIPTION = Subscription(
    group="notifications", streams=("requests", "inventory", "allocations"), handlers=HANDLERS
)
