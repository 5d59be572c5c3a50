"""Server-sent events read by a real HTTP client, resumed with Last-Event-ID as EventSource does."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from tests.factories import request_status_changed
from tests.integration.notifications.harness import Harness

STREAM = "/v1/notifications/stream"


@dataclass
class ServerSentEvent:
    id: str | None
    event: str | None
    data: dict[str, Any] | None
    comment: str | None = None


async def sse(response: httpx.Response) -> AsyncIterator[ServerSentEvent]:
    """Parse ``text/event-stream`` the way a browser does (fields until a blank line)."""
    fields: dict[str, str] = {}
    comment = None
    async for line in response.aiter_lines():
        if line == "":
            if fields or comment is not None:
                data = json.loads(fields["data"]) if "data" in fields else None
                yield ServerSentEvent(fields.get("id"), fields.get("event"), data, comment)
            fields, comment = {}, None
        elif line.startswith(":"):
            comment = line[1:].strip()
        else:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def collect(
    events: AsyncIterator[ServerSentEvent], subjects: set[str], count: int
) -> list[ServerSentEvent]:
    """Read until ``count`` notifications about ``subjects`` arrived (bounded by a deadline)."""

    async def read() -> list[ServerSentEvent]:
        found: list[ServerSentEvent] = []
        async for event in events:
            if event.data is not None and event.data["subject_id"] in subjects:
                found.append(event)
                if len(found) == count:
                    return found
        raise AssertionError(f"the stream ended after {found}")

    return await asyncio.wait_for(read(), 60)


async def test_stream_delivers_new_items_and_resumes_after_last_event_id(harness: Harness) -> None:
    request_id = uuid.uuid4()  # one key: B and C are consumed in the order published
    first, second, third = (
        request_status_changed(request_id=request_id, region="UA-46", ref=f"UA46-2026-00000{i}", status=s)
        for i, s in ((1, "waitlisted"), (2, "partially_allocated"), (3, "allocated"))
    )
    subject = {str(request_id)}
    async with harness.client("lviv-admin", "region_admin", region="UA-46") as client:
        async with client.stream("GET", STREAM, headers={"Accept": "text/event-stream"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            events = sse(response)
            opened = await asyncio.wait_for(anext(events), 30)
            assert opened.comment is not None
            assert opened.comment.startswith("stream open after")  # the position is fixed: publish now
            assert opened.id is not None
            assert opened.comment.endswith(f"after {opened.id}")
            await harness.publish(first)
            [seen] = await collect(events, subject, 1)
        assert seen.event == "notification"
        assert seen.data is not None
        assert seen.data["title"] == "UA46-2026-000001 is now waitlisted"
        assert seen.data["audience"] == "region:UA-46"
        last_event_id = seen.id
        assert last_event_id is not None
        assert int(last_event_id) == seen.data["seq"]

        await harness.publish(second, third)  # while nobody is listening

        headers = {"Accept": "text/event-stream", "Last-Event-ID": last_event_id, "Accept-Language": "uk"}
        async with client.stream("GET", STREAM, headers=headers) as response:
            assert response.status_code == 200
            missed = await collect(sse(response), subject, 2)
    assert [e.data["title"] for e in missed if e.data] == [
        "Статус заявки UA46-2026-000002: частково розподілено",
        "Статус заявки UA46-2026-000003: розподілено",
    ]
    assert [int(e.id or 0) for e in missed] == [int(last_event_id) + 1, int(last_event_id) + 2]


async def test_a_client_that_reconnects_before_any_item_misses_nothing(harness: Harness) -> None:
    """The stream's opening sets Last-Event-ID: an item published while the client is away still arrives."""
    request_id = uuid.uuid4()
    async with harness.client("lviv-admin", "region_admin", region="UA-46") as client:
        async with client.stream("GET", STREAM, headers={"Accept": "text/event-stream"}) as response:
            opened = await asyncio.wait_for(anext(sse(response)), 30)
        assert opened.id is not None  # what a browser's EventSource sends back on its reconnect

        await harness.publish(
            request_status_changed(request_id=request_id, region="UA-46", status="waitlisted")
        )

        headers = {"Accept": "text/event-stream", "Last-Event-ID": opened.id}
        async with client.stream("GET", STREAM, headers=headers) as response:
            [missed] = await collect(sse(response), {str(request_id)}, 1)
    assert missed.data is not None
    assert missed.data["subject_id"] == str(request_id)


async def test_a_malformed_last_event_id_is_422_naming_the_header(harness: Harness) -> None:
    async with harness.client("lviv-admin", "region_admin", region="UA-46") as client:
        for value in ("abc", "-1", "99999999999999999999999"):
            response = await client.get(STREAM, headers={"Last-Event-ID": value})
            assert response.status_code == 422, response.text
            assert [e["field"] for e in response.json()["errors"]] == ["header.last-event-id"]
