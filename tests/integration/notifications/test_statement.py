"""A donor's monthly statement: e-mailed with its PDF to the donor's subscribers, noticed in its inbox."""

from __future__ import annotations

import collections
import io
import uuid
from email.message import EmailMessage

from pypdf import PdfReader

from shared.events.envelope import CloudEvent
from tests.factories import donor_statement
from tests.integration.notifications.harness import Harness, ReceivedMail
from tests.integration.notifications.test_delivery import delivery_on, mail_to, subscribe
from tests.support.polling import eventually


def pdf_of(message: EmailMessage) -> tuple[str, str, str]:
    """The one attachment's type, file name and text."""
    [attachment] = list(message.iter_attachments())
    content = attachment.get_content()
    assert isinstance(content, bytes)
    reader = PdfReader(io.BytesIO(content))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    return attachment.get_content_type(), str(attachment.get_filename()), text


def body_of(message: EmailMessage) -> str:
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    return str(text.get_content())


def mails_about(mails: list[ReceivedMail], event: CloudEvent) -> int:
    return sum(1 for m in mails if m.message["X-Vidnova-Event-Id"] == str(event.id))


async def test_a_donors_statement_is_emailed_with_its_pdf_to_each_subscriber_in_their_language(
    harness: Harness,
) -> None:
    assert harness.mailbox is not None
    assert harness.receiver is not None
    tag = uuid.uuid4().hex[:8]
    donor, other = f"donor-{tag}", f"other-{tag}"
    en, uk, elsewhere = (f"{name}-{tag}@example.org" for name in ("grants", "hrants", "other"))
    hook = f"/hooks/{uuid.uuid4().hex}"
    async with (
        harness.client(f"{donor}-desk", "donor", donor_id=donor) as desk,
        harness.client(f"{other}-desk", "donor", donor_id=other) as other_desk,
    ):
        await subscribe(desk, channel="email", target=en, locale="en")
        await subscribe(desk, channel="email", target=uk, locale="uk", event_types=["donor.statement_issued"])
        await subscribe(desk, channel="webhook", target=harness.receiver.endpoint(hook))
        await subscribe(other_desk, channel="email", target=elsewhere)
        [issued] = await harness.publish(donor_statement(donor_id=donor))

        [english] = await mail_to(harness, en)
        assert english.message["Subject"] == "Monthly fulfilment statement for November 2026: JICA"
        assert "Delivered: 21 units." in body_of(english.message)
        assert "is attached as a PDF." in body_of(english.message)
        kind, filename, text = pdf_of(english.message)
        assert (kind, filename) == ("application/pdf", f"statement-{donor}-2026-11.pdf")
        assert "Units delivered 21" in text
        assert "Saltivka Water Pumping Station" in text

        [ukrainian] = await mail_to(harness, uk)
        assert ukrainian.message["Subject"] == (
            "Щомісячний звіт про виконання за листопад 2026 року: Японське агентство JICA"
        )
        assert ukrainian.message["Content-Language"] == "uk"
        assert "Доставлено: 21 одиниця." in body_of(ukrainian.message)
        kind, filename, text = pdf_of(ukrainian.message)
        assert (kind, filename) == ("application/pdf", f"statement-{donor}-2026-11.pdf")
        assert "Доставлено одиниць 21" in text
        assert "Saltivka Water Pumping Station" in text

        # The inbox has the notice, pointing to the Reports page; the webhook the event's data, no file.
        inbox = (await desk.get("/v1/notifications")).json()["items"]
        [notice] = [n for n in inbox if n["source_event_id"] == str(issued.id)]
        assert notice["title"] == "Monthly fulfilment statement for November 2026: JICA"
        assert "from the Reports page of the console" in notice["body"]
        await delivery_on(harness, issued, "webhook", "delivered")
        [call] = harness.receiver.calls_to(hook)
        document = call.json()
        assert document["type"] == "vidnova.donor.statement_issued.v1"
        assert document["data"]["data"]["totals"]["delivered"] == 21
        assert "Reports page" in document["data"]["text"]

        # Redelivered, then a later statement of the same donor (same key, same partition) as a marker.
        await harness.send(issued)
        [marker] = await harness.publish(donor_statement(donor_id=donor, month="2026-12"))
        for address in (en, uk):
            await eventually(
                lambda address=address: _mails(harness, address),
                until=lambda mails: mails_about(mails, marker) == 1,
                timeout_s=90,
                what=f"the marker's mail to {address}",
            )
            assert mails_about(harness.mailbox.messages(to=address), issued) == 1
        rows = collections.Counter(d.channel for d in await harness.deliveries_of(issued))
        assert rows == {"inbox": 1, "email": 2, "webhook": 1}

        # The other donor heard nothing of it.
        assert harness.mailbox.messages(to=elsewhere) == []
        theirs = (await other_desk.get("/v1/notifications")).json()["items"]
        assert str(issued.id) not in {n["source_event_id"] for n in theirs}


async def _mails(harness: Harness, address: str) -> list[ReceivedMail]:
    assert harness.mailbox is not None
    return harness.mailbox.messages(to=address)
