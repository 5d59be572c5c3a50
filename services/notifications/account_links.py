"""Use case: e-mail a person the one-time link of an invitation or a password reset.

These are the only messages whose body is a secret (SPEC §12): they go to the one address the event
names, in its language, as one e-mail job of the delivery worker — no inbox item, no webhook — and
the worker erases the job's body once it has finished, delivered or finally failed.
"""

from __future__ import annotations

from typing import Final

from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.models import JOBS_QUEUED, Delivery
from services.notifications.rendering import render
from services.notifications.routing import Notice
from shared.db import announce
from shared.events.envelope import CloudEvent
from shared.events.payloads import AccountInvited, AccountLinkIssued, AccountPasswordReset, Payload
from shared.events.registry import event_type_for

TEMPLATES: Final[dict[type[Payload], str]] = {
    AccountInvited: "account_invited",
    AccountPasswordReset: "account_password_reset",
}
SECRET_EVENT_TYPES: Final[frozenset[str]] = frozenset(event_type_for(t).ce_type for t in TEMPLATES)
ERASED_BODY: Final = "(erased once the message was sent: it held a one-time link)"


def holds_secret(source_event_type: str) -> bool:
    """Whether a delivery's body carries a one-time link (and is erased when the job finishes)."""
    return source_event_type in SECRET_EVENT_TYPES


async def queue_account_link(payload: AccountLinkIssued, *, event: CloudEvent, session: AsyncSession) -> None:
    """One e-mail job to the person the event names, rendered in their language."""
    recipient = f"account:{payload.account_id}"
    message = render(Notice(recipient, TEMPLATES[type(payload)], payload), payload.locale)
    session.add(
        Delivery(
            source_event_id=event.id,
            source_event_type=event.type,
            subject_id=event.subject,
            correlation_id=event.correlationid,
            recipient=recipient,
            channel="email",
            target=payload.email,
            locale=payload.locale,
            title=message.title,
            body=message.body,
        )
    )
    announce(session, JOBS_QUEUED)
