"""The notifications service reads the request, allocation and account streams and records who must know."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.account_links import TEMPLATES as ACCOUNT_LINK_TEMPLATES
from services.notifications.account_links import queue_account_link
from services.notifications.routing import ROUTED_TYPES
from services.notifications.service import record_notices
from shared.consumer import Handler, Subscription
from shared.events.envelope import CloudEvent
from shared.events.payloads import Payload
from shared.events.registry import event_type_for


async def notify(payload: Payload, *, event: CloudEvent, session: AsyncSession) -> None:
    """Inbox items and delivery jobs for everyone the routing rules name; nothing is sent here."""
    await record_notices(session=session, consumed=[(payload, event)])


async def notify_all(consumed: Sequence[tuple[Payload, CloudEvent]], *, session: AsyncSession) -> None:
    """``notify`` for consecutive events of one consumer poll, in one fan-out."""
    await record_notices(session=session, consumed=consumed)


HANDLERS: dict[type[Payload], Handler] = {
    **dict.fromkeys(ROUTED_TYPES, notify),
    **dict.fromkeys(ACCOUNT_LINK_TEMPLATES, queue_account_link),
}


def subscription() -> Subscription:
    """The ``notifications`` consumer group on every stream that carries an event someone is told of."""
    return Subscription(
        group="notifications",
        streams=tuple(sorted({event_type_for(t).stream for t in HANDLERS})),
        handlers=HANDLERS,
        batch_handlers=dict.fromkeys(ROUTED_TYPES, notify_all),
    )
