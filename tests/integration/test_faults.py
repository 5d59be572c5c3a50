"""SPEC §7 rules 1 and 6 with real processes: broker outage, unreachable database, graceful stop."""

from __future__ import annotations

import asyncio
import signal

from tests.conftest import Infra
from tests.factories import request_body
from tests.support.infra import BrokerChoice
from tests.support.polling import eventually
from tests.support.stack import ServiceStack, make_stack
from tests.support.tcp_proxy import TcpProxy
from vidnova.broker import EmbeddedBroker, free_port


async def _statuses(stack: ServiceStack, ids: set[str]) -> dict[str, str]:
    async with stack.client("requests", "coordinator") as client:
        found: dict[str, str] = {}
        cursor = None
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/requests", params=params)).json()
            found.update({item["id"]: item["status"] for item in page["items"] if item["id"] in ids})
            cursor = page["next_cursor"]
            if cursor is None:
                return found


async def _coordinator_notices(stack: ServiceStack) -> list[str]:
    async with stack.client("notifications", "coordinator") as client:
        items = (await client.get("/v1/notifications", params={"limit": 200})).json()["items"]
    # Waitlisted notices only (a critical request also gets a "critical request" notice).
    return [item["subject_id"] for item in items if item["type"] == "vidnova.request.waitlisted.v1"]


async def waitlisted_and_notified_once(stack: ServiceStack, ids: set[str], what: str) -> None:
    """Every request in ``ids`` reaches `waitlisted`, and the coordinator is told of each exactly once."""
    statuses = await eventually(
        lambda: _statuses(stack, ids),
        until=lambda s: len(s) == len(ids) and set(s.values()) == {"waitlisted"},
        timeout_s=120,
        interval_s=0.5,
        what=what,
    )
    assert set(statuses) == ids
    notices = await eventually(
        lambda: _coordinator_notices(stack), until=lambda n: ids <= set(n), timeout_s=60, what="notices"
    )
    assert sorted(n for n in notices if n in ids) == sorted(ids)  # each exactly once


async def test_broker_outage_loses_nothing_and_duplicates_nothing(infra: Infra) -> None:
    # The services reach the broker through a proxy, and the outage cuts it: every connection dropped,
    # new ones refused, while the broker keeps its topics and data as Apache Kafka does across a
    # restart. (Killing the in-memory Tansu instead loses its topics too; it then auto-creates a topic
    # on the first produce and drops those acknowledged records once the topic is created properly,
    # so whether anything survives would depend on which client reconnects first. The embedded
    # default's answer to a fresh broker is the outbox replay, tested in test_embedded_stack.)
    proxy = TcpProxy(upstream_port=free_port())
    broker = EmbeddedBroker(
        port=proxy.upstream_port, advertised_port=proxy.port, log_path=infra.tmp_dir / "outage-broker.log"
    )
    broker.start()
    await proxy.start()
    bootstrap = f"127.0.0.1:{proxy.port}"
    stack = await make_stack(
        broker=BrokerChoice("embedded", bootstrap, supports_idempotence=False),
        database=infra.database,
        tmp_dir=infra.tmp_dir,
        bootstrap_servers=bootstrap,
    )
    try:
        await proxy.cut()
        async with stack.client("requests", "kharkiv") as client:
            ready = await eventually(
                lambda: client.get("/readyz"), until=lambda r: r.status_code == 503, what="not ready"
            )
            assert ready.json()["broker"]["ok"] is False
            responses = await asyncio.gather(
                *(client.post("/v1/requests", json=request_body()) for _ in range(50))
            )
        assert [r.status_code for r in responses] == [201] * 50
        ids = {r.json()["id"] for r in responses}

        await proxy.start()
        await waitlisted_and_notified_once(stack, ids, "all 50 waitlisted")
        await stack.wait_ready(timeout_s=60)
    finally:
        stack.stop()
        await proxy.cut()
        broker.stop()


async def test_readyz_is_503_while_the_database_is_unreachable(infra: Infra) -> None:
    dead_database = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    stack = await make_stack(
        broker=infra.broker,
        database=infra.database,
        tmp_dir=infra.tmp_dir,
        names=("requests",),
        start=False,
        REQUESTS_DATABASE_URL=dead_database,
    )
    stack.start("requests")
    try:
        async with stack.client("requests") as client:
            alive = await eventually(
                lambda: _get_or_none(client, "/healthz"), until=lambda r: r is not None, what="process up"
            )
            assert alive.status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["database"]["ok"] is False
        # A write that cannot reach its database is refused as retryable, not as a server bug.
        async with stack.client("requests", "coordinator") as client:
            refused = await client.post("/v1/requests", json=request_body())
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["retry-after"] == "1"
            assert "nothing was written" in refused.json()["detail"]
    finally:
        stack.stop()


async def _get_or_none(client, path: str):
    try:
        return await client.get(path)
    except OSError:
        return None
    except Exception as exc:  # httpx connection errors while the process boots
        if "connect" in type(exc).__name__.lower():
            return None
        raise


async def test_sigterm_drains_and_exits_cleanly(infra: Infra) -> None:
    stack = await make_stack(
        broker=infra.broker, database=infra.database, tmp_dir=infra.tmp_dir, names=("requests",)
    )
    try:
        async with stack.client("requests", "kharkiv") as client:
            assert (await client.post("/v1/requests", json=request_body())).status_code == 201
        # uvicorn drains, runs the lifespan shutdown, then re-raises the signal it captured.
        assert stack.signal("requests", signal.SIGTERM) in (0, -signal.SIGTERM)
        assert "service stopped" in stack.log_tail("requests")
    finally:
        stack.stop()
