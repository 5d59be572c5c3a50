"""Stream limits (§14.5): per person and per process, the token's expiry, pings, single-use tickets;
and the per-person write rate limit (§14.6), on the same service."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.auth import mint_token
from tests.conftest import Infra
from tests.integration.notifications.harness import Harness, notifications_stack, start_harness, stop_harness
from tests.integration.notifications.test_stream import STREAM, sse

MAX_STREAMS = 7


@pytest.fixture(scope="module")
async def limited(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    stack = await notifications_stack(
        infra,
        tmp_path_factory.mktemp("streams"),
        SSE_MAX_STREAMS=str(MAX_STREAMS),
        SSE_PING_INTERVAL_S="0.3",
        RATE_LIMIT_WRITES_PER_MIN="3",
    )
    running = await start_harness(stack)
    yield running
    await stop_harness(running)


def client(harness: Harness, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=harness.stack.url("notifications"), headers=headers, timeout=30)


OPEN: list[AsyncIterator[object]] = []  # a dropped line iterator would close its connection


async def open_stream(stack: contextlib.AsyncExitStack, http: httpx.AsyncClient) -> int:
    """Open a stream and keep it open until the exit stack closes; its status code."""
    response = await stack.enter_async_context(http.stream("GET", STREAM))
    if response.status_code == 200:
        events = sse(response)
        OPEN.append(events)
        stack.callback(OPEN.remove, events)
        await asyncio.wait_for(anext(events), 30)  # the server has counted it
    return response.status_code


async def test_a_sixth_stream_for_one_person_and_one_past_the_process_limit_are_429(limited: Harness) -> None:
    person = f"coord-{uuid.uuid4().hex[:6]}"
    async with contextlib.AsyncExitStack() as streams:
        mine = client(limited, limited.token(person, "coordinator"))
        streams.push_async_callback(mine.aclose)
        assert [await open_stream(streams, mine) for _ in range(5)] == [200] * 5
        refused = await mine.get(STREAM)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) > 0
        other = client(limited, limited.token(f"other-{uuid.uuid4().hex[:6]}", "coordinator"))
        streams.push_async_callback(other.aclose)
        assert [await open_stream(streams, other) for _ in range(2)] == [200, 200]  # 7 open: the limit
        third = client(limited, limited.token(f"third-{uuid.uuid4().hex[:6]}", "coordinator"))
        streams.push_async_callback(third.aclose)
        full = await third.get(STREAM)
        assert full.status_code == 429
        assert "open streams" in full.json()["detail"]
    # Closed streams give their slots back.
    again = client(limited, limited.token(person, "coordinator"))
    async with again, again.stream("GET", STREAM) as response:
        assert response.status_code == 200


async def test_a_stream_pings_and_closes_when_its_token_expires(limited: Harness) -> None:
    token = mint_token(secret=limited.stack.secret, sub="short-lived", role="coordinator", ttl_s=3)
    async with client(limited, token) as http, http.stream("GET", STREAM) as response:
        assert response.status_code == 200
        comments = [event.comment async for event in sse(response)]  # ends by itself, or the test times out
    assert "ping" in comments
    assert comments[-1] == "token expired"


async def test_a_browser_opens_a_stream_with_a_single_use_ticket_never_a_token_in_the_url(
    limited: Harness,
) -> None:
    token = limited.token(f"browser-{uuid.uuid4().hex[:6]}", "region_admin", region="UA-46")
    async with client(limited, token) as http:
        issued = await http.post("/v1/notifications/stream-ticket")
    assert issued.status_code == 201, issued.text
    ticket = issued.json()["ticket"]
    async with client(limited) as anonymous:
        async with anonymous.stream("GET", STREAM, params={"ticket": ticket}) as response:
            assert response.status_code == 200
            opened = await asyncio.wait_for(anext(sse(response)), 30)
            assert opened.comment is not None
        reused = await anonymous.get(STREAM, params={"ticket": ticket})
        assert reused.status_code == 401
        assert reused.headers["www-authenticate"].startswith("Bearer")
        assert (await anonymous.get(STREAM, params={"ticket": "made-up"})).status_code == 401
        assert (await anonymous.get(STREAM)).status_code == 401
        in_query = await anonymous.get(STREAM, params={"access_token": token})
        assert in_query.status_code in (401, 422)  # a bearer token in the URL is never accepted


async def test_writes_past_the_per_person_rate_are_429_with_retry_after(limited: Harness) -> None:
    eager, calm = (limited.token(f"{n}-{uuid.uuid4().hex[:6]}", "coordinator") for n in ("eager", "calm"))
    async with client(limited, eager) as http:
        statuses = [(await http.post("/v1/notifications/stream-ticket")).status_code for _ in range(3)]
        assert statuses == [201, 201, 201]
        limited_write = await http.post("/v1/notifications/stream-ticket")
        assert limited_write.status_code == 429
        assert limited_write.headers["content-type"] == "application/problem+json"
        assert 1 <= int(limited_write.headers["retry-after"]) <= 20  # one write back every 20 s
        assert "3 writes a minute" in limited_write.json()["detail"]
        assert (await http.get("/v1/notifications")).status_code == 200  # reads are not limited
    async with client(limited, calm) as other:
        assert (await other.post("/v1/notifications/stream-ticket")).status_code == 201
    async with client(limited, "forged." + eager) as forged:
        assert (await forged.post("/v1/notifications/stream-ticket")).status_code == 401
