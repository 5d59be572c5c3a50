"""The in-app inbox through the real broker: scope by role, language, read marks, pages, redelivery."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shared.events.payloads import AllocationDelivered, AllocationDispatched
from tests.factories import allocation_event, request_status_changed, request_submitted
from tests.integration.notifications.harness import Harness
from tests.support.polling import eventually


async def inbox(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/notifications", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def items_about(
    client: httpx.AsyncClient, subject: str, *, count: int = 1, **params: Any
) -> list[dict]:
    """Wait until the caller's inbox holds ``count`` items about ``subject``."""
    return await eventually(
        lambda: _about(client, subject, **params),
        until=lambda found: len(found) >= count,
        timeout_s=60,
        what=f"{count} inbox item(s) about {subject}",
    )


async def _about(client: httpx.AsyncClient, subject: str, **params: Any) -> list[dict[str, Any]]:
    return [n for n in await inbox(client, **params) if n["subject_id"] == subject]


async def test_each_audience_reads_its_own_notices_in_its_language(harness: Harness) -> None:
    donor, other = f"donor-{uuid.uuid4().hex[:8]}", f"donor-{uuid.uuid4().hex[:8]}"
    request_id = uuid.uuid4()
    dispatched = allocation_event(AllocationDispatched, donor_id=donor, region="UA-07", request_id=request_id)
    delivered = allocation_event(
        AllocationDelivered, donor_id=donor, region="UA-07", request_id=request_id, received_quantity=2
    )
    await harness.publish(dispatched, delivered)
    subject = str(request_id)
    async with (
        harness.client("d-1", "donor", donor_id=donor) as donor_client,
        harness.client("d-2", "donor", donor_id=other) as other_client,
        harness.client("volyn-admin", "region_admin", region="UA-07") as region_client,
        harness.client("coord-1", "coordinator") as coordinator,
    ):
        english = await items_about(donor_client, subject, count=2)
        assert [n["title"].split(":")[0] for n in english] == [
            "Fulfilment notice UA63-2026-000001",  # newest first
            "Dispatch recorded",
        ]
        assert {n["audience"] for n in english} == {f"donor:{donor}"}
        response = await donor_client.get("/v1/notifications", headers={"Accept-Language": "uk-UA,uk;q=0.9"})
        assert response.headers["content-language"] == "uk"
        ukrainian = [n for n in response.json()["items"] if n["subject_id"] == subject]
        assert ukrainian[0]["locale"] == "uk"
        assert ukrainian[0]["title"] == (
            "Повідомлення про виконання UA63-2026-000001: Волинська область, отримано: 2 одиниці"
        )
        assert "Ваше обладнання доставлено" in ukrainian[0]["body"]

        region_items = await items_about(region_client, subject)
        assert [n["type"] for n in region_items] == ["vidnova.allocation.dispatched.v1"]
        coordinator_items = await items_about(coordinator, subject)
        assert [n["type"] for n in coordinator_items] == ["vidnova.allocation.delivered.v1"]
        assert await _about(other_client, subject) == []


async def test_read_marks_are_per_reader_in_a_shared_inbox(harness: Harness) -> None:
    [event] = await harness.publish(request_submitted(priority="critical"))
    async with (
        harness.client("coord-1", "coordinator") as first,
        harness.client("coord-2", "coordinator") as second,
        harness.client("kharkiv-admin", "region_admin", region="UA-63") as region,
    ):
        [item] = await items_about(first, event.subject)
        assert item["read"] is False
        marked = await first.post(f"/v1/notifications/{item['id']}/read")
        assert marked.status_code == 200, marked.text
        assert marked.json()["read"] is True
        assert (await first.post(f"/v1/notifications/{item['id']}/read")).status_code == 200  # idempotent

        assert await _about(first, event.subject, unread=True) == []
        [still_unread] = await _about(second, event.subject, unread=True)
        assert still_unread["id"] == item["id"]
        [seen] = await _about(first, event.subject)
        assert seen["read"] is True

        other_scope = await region.post(f"/v1/notifications/{item['id']}/read")
        assert other_scope.status_code == 404
        assert other_scope.headers["content-type"] == "application/problem+json"


async def test_inbox_pages_with_a_cursor_newest_first(harness: Harness) -> None:
    request_id = uuid.uuid4()  # one key, one partition: consumed in the order published
    changes = [
        request_status_changed(request_id=request_id, region="UA-05", ref=f"UA05-2026-00000{i}")
        for i in range(1, 6)
    ]
    await harness.publish(*changes)
    async with harness.client("vinnytsia-admin", "region_admin", region="UA-05") as client:
        await eventually(lambda: inbox(client), until=lambda items: len(items) >= 5, timeout_s=60)
        pages, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/notifications", params=params)).json()
            pages.append([n["title"].split(" ")[0] for n in page["items"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert pages == [
        ["UA05-2026-000005", "UA05-2026-000004"],
        ["UA05-2026-000003", "UA05-2026-000002"],
        ["UA05-2026-000001"],
    ]


async def test_bad_query_parameters_are_422_naming_the_field(harness: Harness) -> None:
    async with harness.client("coord-1", "coordinator") as client:
        for params, field in (
            ({"cursor": "not-a-cursor"}, "query.cursor"),
            ({"cursor": "c2VxOjk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"}, "query.cursor"),  # "seq:" + 23 digits
            ({"unread": "maybe"}, "query.unread"),
            ({"limit": 0}, "query.limit"),
        ):
            response = await client.get("/v1/notifications", params=params)
            assert response.status_code == 422, response.text
            assert field in [e["field"] for e in response.json()["errors"]]


async def test_a_redelivered_event_makes_one_inbox_item_recorded_as_delivered_without_an_event(
    harness: Harness,
) -> None:
    event = (await harness.publish(request_status_changed(region="UA-12")))[0]
    await harness.send(event, event)
    [sentinel] = await harness.publish(request_status_changed(region="UA-12"))
    async with harness.client("dnipro-admin", "region_admin", region="UA-12") as client:
        await items_about(client, sentinel.subject)
        assert len(await _about(client, event.subject)) == 1
    [delivery] = await harness.deliveries_of(event)
    assert (delivery.channel, delivery.recipient, delivery.status, delivery.attempts) == (
        "inbox", "region:UA-12", "delivered", 1,
    )  # fmt: skip
    # Delivered on write: no notification.delivered for an inbox item (contract notes).
    published = [
        e for e in await harness.outbox("vidnova.notification.delivered.v1")
        if e["data"]["source_event_id"] in (str(event.id), str(sentinel.id))
    ]  # fmt: skip
    assert published == []
