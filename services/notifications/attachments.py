"""Files an e-mail carries, built when it is sent from the event data its delivery keeps.

A small table: event type → the builder of its file. Only e-mail deliveries of those event types
keep their event's data (webhooks keep it for their document); the file is rendered again at each
attempt, so a retry sends the same file and the database holds no copy of it. The inbox and webhooks
get no file: their text says where to download it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from services.notifications.rendering import Locale
from shared.events.envelope import CloudEvent
from shared.events.payloads import DonorStatementIssued
from shared.events.registry import event_type_for
from shared.statement import render_pdf


@dataclass(frozen=True)
class Attachment:
    """One file of an e-mail: its name, MIME type and bytes."""

    filename: str
    maintype: str
    subtype: str
    content: bytes


class AttachmentError(Exception):
    """The file cannot be built from what the delivery kept (trying again will not help)."""


Builder = Callable[[dict[str, Any], Locale], Attachment]


def statement_pdf(data: dict[str, Any], locale: Locale) -> Attachment:
    """A donor's monthly statement as a PDF in the subscriber's language."""
    statement = DonorStatementIssued.model_validate(data)
    content = render_pdf(statement, locale)  # renders take turns (shared/statement)
    return Attachment(
        filename=f"statement-{statement.donor_id}-{statement.month}.pdf",
        maintype="application",
        subtype="pdf",
        content=content,
    )


BUILDERS: Final[dict[str, Builder]] = {
    event_type_for(DonorStatementIssued).ce_type: statement_pdf,
}


def attaches_file(event_type: str) -> bool:
    """Whether an e-mail about events of this CloudEvents type carries a file."""
    return event_type in BUILDERS


def kept_data(channel: str, event: CloudEvent) -> dict[str, Any] | None:
    """The event data a delivery keeps: a webhook sends it; an e-mail builds its attachment from it."""
    if channel == "webhook" or (channel == "email" and attaches_file(event.type)):
        return event.data
    return None


async def attachments_for(event_type: str, data: dict[str, Any] | None, locale: str) -> list[Attachment]:
    """The files of an e-mail about this event, rendered now (in a thread: a PDF layout takes a while)."""
    builder = BUILDERS.get(event_type)
    if builder is None:
        return []
    if data is None:
        raise AttachmentError(f"the delivery kept no event data to build the {event_type} attachment from")
    try:
        return [await asyncio.to_thread(builder, data, "uk" if locale == "uk" else "en")]
    except ValidationError as exc:
        problem = f"the event data no longer fits {event_type}: {exc.error_count()} errors"
        raise AttachmentError(problem) from exc
