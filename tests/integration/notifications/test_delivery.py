"""E-mail over real SMTP, signed webhooks to a real HTTP server, retries, failure, and independence."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from shared.events.envelope import CloudEvent
from shared.events.payloads import AllocationApproved, AllocationDelivered
from tests.factories import allocation_event, request_status_changed, request_submitted, request_waitlisted
from tests.integration.notifications.harness import SMTP_USER, Harness, ReceivedMail, verify_signature
from tests.support.polling import eventually


async def subscribe(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/subscriptions", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def deliveries(harness: Harness, event: CloudEvent) -> list[dict[str, Any]]:
    async with harness.client("ops-1", "admin") as client:
        response = await client.get("/v1/deliveries", params={"source_event_id": str(event.id)})
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def delivery_on(harness: Harness, event: CloudEvent, channel: str, status: str) -> dict[str, Any]:
    """Wait until the event's delivery over ``channel`` has ``status``."""
    found = await eventually(
        lambda: deliveries(harness, event),
        until=lambda items: any(d["channel"] == channel and d["status"] == status for d in items),
        timeout_s=90,
        what=f"{channel} delivery {status}",
    )
    return next(d for d in found if d["channel"] == channel)


async def mail_to(harness: Harness, address: str, count: int = 1) -> list[ReceivedMail]:
    assert harness.mailbox is not None
    mailbox = harness.mailbox

    async def received() -> list[ReceivedMail]:
        return mailbox.messages(to=address)

    return await eventually(
        received, until=lambda m: len(m) >= count, timeout_s=60, what=f"mail to {address}"
    )


async def test_email_goes_over_smtp_with_starttls_and_auth_in_the_subscribers_language(
    harness: Harness,
) -> None:
    address = f"duty-{uuid.uuid4().hex[:8]}@example.org"
    async with harness.client(f"coord-{uuid.uuid4().hex[:6]}", "coordinator") as coordinator:
        subscription = await subscribe(
            coordinator, channel="email", target=address, locale="uk", event_types=["request.submitted"]
        )
    request_id = uuid.uuid4()
    waitlisted, submitted = await harness.publish(
        request_waitlisted(request_id=request_id), request_submitted(request_id=request_id, quantity=2)
    )

    [mail] = await mail_to(harness, address)
    assert mail.tls
    assert mail.login == SMTP_USER
    message = mail.message
    assert message["Subject"] == "Критичний запит UA63-2026-000001: генератор, 2 одиниці — Харківська область"
    assert message["From"] == "Vidnova <noreply@vidnova.test>"
    assert message["Content-Language"] == "uk"
    text = message.get_content()
    assert "Потрібно: генератор, 2 одиниці, до 15.12.2026." in text

    delivered = await delivery_on(harness, submitted, "email", "delivered")
    assert message["Message-ID"] == f"<{delivered['id']}@vidnova.notifications>"
    assert delivered["recipient"] == f"subscription:{subscription['id']}"
    assert [(a["number"], a["outcome"], a["error"]) for a in delivered["attempts"]] == [
        (1, "delivered", None)
    ]
    assert delivered["attempts"][0]["duration_ms"] >= 0

    outcome = await eventually(
        lambda: _outcomes(harness, "vidnova.notification.delivered.v1", delivered["id"]),
        until=lambda found: found and found[0]["published"],
        what="notification.delivered published",
    )
    assert outcome[0]["data"]["channel"] == "email"
    assert outcome[0]["causationid"] == str(submitted.id)
    assert outcome[0]["actor"] == "system:notifications"  # the delivery worker's doing (SPEC §14.7)

    # The waitlisted event reached the inbox but not this subscription (it names request.submitted only).
    await delivery_on(harness, waitlisted, "inbox", "delivered")
    assert [d["channel"] for d in await deliveries(harness, waitlisted)] == ["inbox"]
    # The inbox items are delivered on write: the e-mail's outcome is the only event about these two.
    published = [
        e for e in await harness.outbox("vidnova.notification.delivered.v1")
        if e["data"]["source_event_id"] in (str(waitlisted.id), str(submitted.id))
    ]  # fmt: skip
    assert [e["data"]["channel"] for e in published] == ["email"]


async def _outcomes(harness: Harness, event_type: str, delivery_id: str) -> list[dict[str, Any]]:
    return [e for e in await harness.outbox(event_type) if e["data"]["notification_id"] == delivery_id]


async def test_webhook_is_signed_and_carries_the_fulfilment_notice(harness: Harness) -> None:
    assert harness.receiver is not None
    donor, path = f"donor-{uuid.uuid4().hex[:8]}", f"/hooks/{uuid.uuid4().hex}"
    async with harness.client(f"{donor}-desk", "donor", donor_id=donor) as client:
        subscription = await subscribe(
            client,
            channel="webhook",
            target=harness.receiver.endpoint(path),
            event_types=["allocation.delivered"],
        )
    secret = subscription["secret"]
    harness.receiver.endpoints[path].secret = secret  # the receiver answers 401 to a bad signature
    approved, delivered = await harness.publish(
        allocation_event(AllocationApproved, donor_id=donor),
        allocation_event(
            AllocationDelivered, donor_id=donor, quantity=3, received_quantity=2, rejected_quantity=1,
            note="cracked housing", waybill="WB-77",
        ),
    )  # fmt: skip

    record = await delivery_on(harness, delivered, "webhook", "delivered")
    [call] = harness.receiver.calls_to(path)
    assert call.status == 200
    assert verify_signature(secret, call.headers, call.body)
    assert call.headers["content-type"] == "application/json"
    assert call.headers["webhook-id"] == record["id"]
    document = call.json()  # a CloudEvent
    assert document["id"] == record["id"]
    assert document["type"] == "vidnova.allocation.delivered.v1"
    notice = document["data"]
    assert notice["event_id"] == str(delivered.id)
    assert notice["title"] == "Fulfilment notice UA63-2026-000001: 2 units received in Kharkiv Oblast"
    assert "Rejected on delivery: 1 unit — cracked housing." in notice["text"]
    assert notice["data"]["received_quantity"] == 2
    assert notice["data"]["waybill"] == "WB-77"
    assert [(a["outcome"], a["response_status"]) for a in record["attempts"]] == [("delivered", 200)]
    outcome = await eventually(
        lambda: _outcomes(harness, "vidnova.notification.delivered.v1", record["id"]),
        until=lambda found: bool(found),
        what="notification.delivered of the webhook",
    )
    assert [(o["data"]["channel"], o["causationid"]) for o in outcome] == [("webhook", str(delivered.id))]

    await delivery_on(harness, approved, "inbox", "delivered")
    assert [d["channel"] for d in await deliveries(harness, approved)] == ["inbox"]  # filtered out
    published = [
        e for e in await harness.outbox("vidnova.notification.delivered.v1")
        if e["data"]["source_event_id"] == str(approved.id)
    ]  # fmt: skip
    assert published == []  # an inbox item publishes none


async def test_a_failing_webhook_is_retried_with_backoff_then_marked_failed(harness: Harness) -> None:
    assert harness.receiver is not None
    path = f"/hooks/{uuid.uuid4().hex}"
    async with harness.client(f"coord-{uuid.uuid4().hex[:6]}", "coordinator") as coordinator:
        await subscribe(
            coordinator,
            channel="webhook",
            target=harness.receiver.endpoint(path, "flaky"),  # 500, then no answer in time
            event_types=["request.submitted"],
        )
    [submitted] = await harness.publish(request_submitted())

    failed = await delivery_on(harness, submitted, "webhook", "failed")
    attempts = failed["attempts"]
    assert [(a["number"], a["outcome"], a["error"], a["response_status"]) for a in attempts] == [
        (1, "retry", "HTTP 500", 500),
        (2, "retry", "timed out after 4 s", None),
        (3, "failed", "timed out after 4 s", None),
    ]
    assert failed["last_error"] == "timed out after 4 s"
    assert failed["next_attempt_at"] is None
    # Backoff (base 0.3 s, doubling, jitter within the upper half) separates the attempts.
    gaps = [_at(b["started_at"]) - _at(a["finished_at"]) for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= timedelta(seconds=0.15)
    assert gaps[1] >= timedelta(seconds=0.3)
    assert len(harness.receiver.calls_to(path)) >= 1  # the timed-out calls are still held by the server

    [outcome] = await eventually(
        lambda: _outcomes(harness, "vidnova.notification.failed.v1", failed["id"]),
        until=lambda found: found and found[0]["published"],
        what="notification.failed published",
    )
    assert outcome["data"]["error"] == "timed out after 4 s"
    assert outcome["data"]["attempts"] == 3
    assert outcome["data"]["channel"] == "webhook"
    assert outcome["actor"] == "system:notifications"


async def test_a_slow_webhook_does_not_hold_back_email_or_inbox(harness: Harness) -> None:
    assert harness.receiver is not None
    receiver = harness.receiver
    path, address = f"/hooks/{uuid.uuid4().hex}", f"chernihiv-{uuid.uuid4().hex[:6]}@example.org"
    async with harness.client(f"chernihiv-{uuid.uuid4().hex[:6]}", "region_admin", region="UA-74") as region:
        hook = await subscribe(region, channel="webhook", target=receiver.endpoint(path, "hold"))
        await subscribe(region, channel="email", target=address)
        [slow] = await harness.publish(request_status_changed(region="UA-74"))
        await eventually(lambda: _holding(receiver, path), timeout_s=60, what="webhook call in flight")

        [later] = await harness.publish(request_status_changed(region="UA-74", ref="UA74-2026-000002"))
        mails = await mail_to(harness, address, count=2)  # the first event's e-mail, then the later one's
        assert "UA74-2026-000002 is now waitlisted" in {m.message["Subject"] for m in mails}
        inbox = (await region.get("/v1/notifications")).json()["items"]
        assert later.subject in {n["subject_id"] for n in inbox}

        # All of that happened while the first webhook call was still unanswered.
        webhook = next(d for d in await deliveries(harness, slow) if d["channel"] == "webhook")
        assert webhook["status"] == "pending"
        assert webhook["attempts"] == []
        assert (await region.delete(f"/v1/subscriptions/{hook['id']}")).status_code == 204
    cancelled = next(d for d in await deliveries(harness, slow) if d["channel"] == "webhook")
    assert cancelled["status"] == "cancelled"  # ending a subscription cancels what it still had queued
    assert cancelled["last_error"] == "subscription deleted"


async def _holding(receiver: Any, path: str) -> bool:
    return bool(receiver.endpoints[path].holding)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)
