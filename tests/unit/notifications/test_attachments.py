"""E-mails with a file: a donor's monthly statement goes out with its PDF, rendered at send time."""

from __future__ import annotations

import email
import email.policy
import io
import uuid
from email.message import EmailMessage
from typing import Any

import pytest
from pypdf import PdfReader

from services.notifications.attachments import Attachment, kept_data
from services.notifications.channels import DeliveryError, Job, email_message, with_attachments
from services.notifications.rendering import Locale, render
from services.notifications.routing import notices_for
from shared.events.envelope import CloudEvent, new_event
from shared.events.payloads import AllocationDelivered, Payload
from tests.factories import allocation_event, donor_statement

SENDER = "Vidnova <noreply@vidnova.test>"


def job_for(event: CloudEvent, payload: Payload, locale: Locale, **overrides: Any) -> Job:
    """The e-mail job the consumer would queue for one subscription in ``locale``."""
    [notice] = [n for n in notices_for(payload) if n.audience.startswith("donor:")]
    message = render(notice, locale, medium="email")
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "number": 1,
        "claim_token": uuid.uuid4(),
        "channel": "email",
        "target": "grants@jica.example.org",
        "locale": locale,
        "title": message.title,
        "body": message.body,
        "data": kept_data("email", event),
        "source_event_id": event.id,
        "source_event_type": event.type,
        "subject_id": event.subject,
        "signing_key": None,
    }
    return Job(**{**fields, **overrides})


def parsed(message: EmailMessage) -> EmailMessage:
    """The message as a receiver reads it (bytes on the wire, parsed back)."""
    received = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(received, EmailMessage)
    return received


async def sent(job: Job) -> EmailMessage:
    """What the worker sends: the files rendered first, then the message built around them."""
    return parsed(email_message(await with_attachments(job), sender=SENDER))


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.mark.parametrize(
    ("locale", "subject", "words"),
    [
        ("en", "Monthly fulfilment statement for November 2026: JICA", ["Units delivered 21"]),
        (
            "uk",
            "Щомісячний звіт про виконання за листопад 2026 року: Японське агентство JICA",
            ["Доставлено одиниць 21", "листопад 2026"],
        ),
    ],
)
async def test_the_statement_email_carries_its_pdf_in_the_subscribers_language(
    locale: Locale, subject: str, words: list[str]
) -> None:
    statement = donor_statement()
    event = new_event(statement, source="allocation")
    message = await sent(job_for(event, statement, locale))

    assert message["Subject"] == subject
    assert message["Content-Language"] == locale
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert "21" in text.get_content()
    assert ("attached as a PDF" if locale == "en" else "додано до листа") in text.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "statement-jica-2026-11.pdf"
    content = attachment.get_content()
    assert content.startswith(b"%PDF-")
    rendered = pdf_text(content)
    for expected in [*words, "Saltivka Water Pumping Station", "Odesa Regional Hospital", "UA63-2026-000001"]:
        assert expected in rendered


async def test_other_emails_stay_a_single_plain_text_part() -> None:
    delivered = allocation_event(AllocationDelivered)
    event = new_event(delivered, source="allocation")
    job = job_for(event, delivered, "en")
    assert job.data is None  # an e-mail without a file keeps no event data
    message = await sent(job)
    assert message.get_content_type() == "text/plain"
    assert list(message.iter_attachments()) == []
    assert message["Content-Language"] == "en"
    assert message.get_content().startswith("Your equipment has reached")


def test_only_webhooks_and_emails_with_a_file_keep_the_event_data() -> None:
    statement = new_event(donor_statement(), source="allocation")
    delivered = new_event(allocation_event(AllocationDelivered), source="allocation")
    assert kept_data("email", statement) == statement.data
    assert kept_data("webhook", statement) == statement.data
    assert kept_data("inbox", statement) is None
    assert kept_data("email", delivered) is None
    assert kept_data("webhook", delivered) == delivered.data


async def test_a_statement_email_without_its_data_fails_for_good_instead_of_going_without_the_file() -> None:
    statement = donor_statement()
    event = new_event(statement, source="allocation")
    with pytest.raises(DeliveryError) as missing:
        await with_attachments(job_for(event, statement, "en", data=None))
    assert not missing.value.retryable
    with pytest.raises(DeliveryError) as unfit:
        await with_attachments(job_for(event, statement, "en", data={"donor_id": "jica"}))
    assert not unfit.value.retryable


def test_the_text_part_and_the_language_survive_an_attachment() -> None:
    statement = donor_statement()
    event = new_event(statement, source="allocation")
    file = Attachment(filename="a.pdf", maintype="application", subtype="pdf", content=b"%PDF-1.7")
    job = job_for(event, statement, "uk", attachments=(file,))
    message = parsed(email_message(job, sender=SENDER))
    assert message["Content-Language"] == "uk"
    assert message["Message-ID"] == f"<{job.id}@vidnova.notifications>"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert text.get_content().rstrip("\n") == job.body
