"""Broker faults on the three-broker Apache Kafka cluster (replication factor 3, min.insync.replicas 2,
idempotent producers with acks=all), each under a steady load of requests and each ending with the same
history check: every acknowledged request present once, none left ``submitted``, no lot or request
over-allocated, and each proposal counted once by the requests service.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import Infra
from tests.factories import lot_body, request_body
from tests.support.kafka_admin import end_offsets, leader_of, wait_fully_replicated
from tests.support.polling import eventually
from tests.support.stack import ServiceStack, make_stack
from vidnova.kafka_cluster import KafkaCluster, KafkaNode, wait_for_brokers

pytestmark = pytest.mark.slow

STOCK = 30  # generators for the whole module: scarce, so requests are both allocated and waitlisted
RATE_PER_S = 15


@dataclass
class Cluster:
    infra: Infra
    stack: ServiceStack
    lot_id: str
    filed: list[str] = field(default_factory=list)  # every acknowledged request of the module

    @property
    def kafka(self) -> KafkaCluster:
        assert self.infra.broker.cluster is not None
        return self.infra.broker.cluster

    @property
    def topics(self) -> list[str]:
        settings = self.stack.kafka_settings()
        return [
            settings.topic(stream) for stream in ("requests", "allocations", "inventory", "notifications")
        ]

    async def healed(self) -> None:
        """Every node running and every partition fully replicated again."""
        for node in self.kafka.nodes:
            if not node.running:
                await asyncio.to_thread(self.kafka.start_node, node)
        await wait_for_brokers(self.kafka.bootstrap_servers, self.kafka.size)
        await wait_fully_replicated(self.kafka.bootstrap_servers, self.topics, self.kafka.replication_factor)


@pytest.fixture(scope="module")
async def cluster(infra: Infra) -> AsyncIterator[Cluster]:
    if infra.broker.cluster is None:
        pytest.skip(f"needs the three-broker Apache Kafka cluster; {infra.broker.describe()}")
    stack = await make_stack(broker=infra.broker, database=infra.database, tmp_dir=infra.tmp_dir)
    try:
        async with stack.client("allocation", "jica") as donor:
            response = await donor.post("/v1/lots", json=lot_body(quantity=STOCK))
        assert response.status_code == 201, response.text
        state = Cluster(infra, stack, response.json()["id"])
        yield state
    finally:
        stack.stop()


@pytest.fixture
async def healthy(cluster: Cluster) -> AsyncIterator[Cluster]:
    """The cluster whole before the test, and made whole again after it whatever happened."""
    await cluster.healed()
    try:
        yield cluster
    finally:
        await cluster.healed()


async def file_under_load(
    cluster: Cluster, fault: Callable[[], Awaitable[None]], *, duration_s: float
) -> int:
    """POST requests at a steady rate for ``duration_s`` while ``fault`` runs; every one must be accepted."""
    stop_at = time.monotonic() + duration_s
    statuses: Counter[int] = Counter()

    async def load() -> None:
        async with cluster.stack.client("requests", "kharkiv") as client:
            pending: set[asyncio.Task[Any]] = set()
            while time.monotonic() < stop_at:
                body = request_body(quantity=1, priority="high")
                pending.add(asyncio.create_task(client.post("/v1/requests", json=body)))
                await asyncio.sleep(1 / RATE_PER_S)  # the offered rate, not a wait for an outcome
            for response in await asyncio.gather(*pending):
                statuses[response.status_code] += 1
                if response.status_code == 201:
                    cluster.filed.append(response.json()["id"])

    await asyncio.gather(load(), fault())
    assert statuses
    assert set(statuses) == {201}, statuses
    return statuses[201]


async def history_check(cluster: Cluster, fault: str, accepted: int) -> None:
    """Every acknowledged request once, each past ``submitted``, nothing over-allocated or counted twice."""
    stack, ids = cluster.stack, set(cluster.filed)
    started = time.monotonic()
    try:
        snapshot = await eventually(
            lambda: _snapshot(stack, ids),
            until=lambda s: s.settled,
            timeout_s=180,
            interval_s=1.0,
            what="every acknowledged request past submitted",
        )
    except AssertionError as stuck:
        raise AssertionError(f"{stuck}\n{await _diagnosis(stack)}") from None
    requests = snapshot.requests
    # Read with `pytest -s`: the fault table of docs/tests.md comes from these lines.
    settled_s = time.monotonic() - started
    print(
        f"\n[cluster fault] {fault}: {accepted} accepted during the fault; module so far: {snapshot!r}; "
        f"settled {settled_s:.1f} s after the load"
    )
    async with stack.client("allocation", "coordinator") as client:
        lot = (await client.get(f"/v1/lots/{cluster.lot_id}")).json()
        allocations = await _all(client, "/v1/allocations", {"lot_id": cluster.lot_id})
    held = {key: value for key, value in lot["quantities"].items() if key not in ("total", "free")}
    assert sum(held.values()) <= lot["quantities"]["total"], lot["quantities"]
    per_request = Counter[str]()
    for allocation in allocations:
        per_request[allocation["request_id"]] += allocation["quantity"]
    # Proposals are settled once the lot is used up or nothing waits for stock.
    waiting = [i for i in ids if requests[i]["status"] == "waitlisted"]
    assert not waiting or lot["quantities"]["free"] == 0, (len(waiting), lot["quantities"])
    for request_id, units in per_request.items():
        if request_id not in requests:
            continue
        quantities = requests[request_id]["quantities"]
        assert units <= quantities["requested"]
        # One allocation.proposed handled once: the read model counts exactly what allocation holds.
        assert quantities["proposed"] + quantities["approved"] == units, (request_id, quantities, units)


@dataclass
class Snapshot:
    """The requests service's view of the acknowledged requests (its repr is the failure message)."""

    ids: set[str]
    requests: dict[str, dict[str, Any]]

    @property
    def missing(self) -> set[str]:
        return self.ids - set(self.requests)

    @property
    def statuses(self) -> Counter[str]:
        return Counter(self.requests[i]["status"] for i in self.ids if i in self.requests)

    @property
    def settled(self) -> bool:
        return not self.missing and "submitted" not in self.statuses

    def __repr__(self) -> str:
        return f"{len(self.ids)} acknowledged, {len(self.missing)} missing, statuses {dict(self.statuses)}"


async def _diagnosis(stack: ServiceStack) -> str:
    """What each service says about itself when events stop flowing: readiness and its last warnings."""
    lines = []
    async with httpx.AsyncClient(timeout=5.0) as client:
        for name in stack.names:
            try:
                ready = (await client.get(f"{stack.url(name)}/readyz")).text
            except httpx.HTTPError as exc:
                ready = repr(exc)
            tail = [line for line in stack.log_tail(name, 400).splitlines() if '"level": "INFO"' not in line]
            lines += [f"--- {name} /readyz: {ready}", *tail[-15:]]
    return "\n".join(lines)


async def _snapshot(stack: ServiceStack, ids: set[str]) -> Snapshot:
    async with stack.client("requests", "coordinator") as client:
        items = await _all(client, "/v1/requests", {})
    seen = Counter(item["id"] for item in items)
    assert max(seen.values(), default=1) == 1, "a request listed twice"
    return Snapshot(ids, {item["id"]: item for item in items})


async def _all(client: Any, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(
            path, params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def _stop(node: KafkaNode, signum: int) -> None:
    await asyncio.to_thread(node.kill if signum == signal.SIGKILL else node.stop)


async def test_sigkill_of_a_partition_leader_under_load_loses_nothing(healthy: Cluster) -> None:
    kafka = healthy.kafka
    leader = kafka.node(await leader_of(kafka.bootstrap_servers, healthy.topics[0]))

    async def fault() -> None:
        await asyncio.sleep(2)  # into the load
        await _stop(leader, signal.SIGKILL)

    accepted = await file_under_load(healthy, fault, duration_s=10)
    await history_check(healthy, "SIGKILL of a partition leader", accepted)
    assert not leader.running  # the check passed with the old leader still dead


async def test_one_broker_down_for_thirty_seconds_loses_nothing(healthy: Cluster) -> None:
    node = healthy.kafka.nodes[1]

    async def fault() -> None:
        await _stop(node, signal.SIGKILL)
        await asyncio.sleep(30)  # the length of the outage
        await asyncio.to_thread(healthy.kafka.start_node, node)

    accepted = await file_under_load(healthy, fault, duration_s=35)
    await history_check(healthy, "one broker SIGKILLed for 30 s", accepted)


async def test_rolling_restart_of_all_three_brokers_loses_nothing(healthy: Cluster) -> None:
    kafka = healthy.kafka

    async def fault() -> None:
        for node in kafka.nodes:
            await _stop(node, signal.SIGTERM)
            await asyncio.to_thread(kafka.start_node, node)
            await wait_fully_replicated(kafka.bootstrap_servers, healthy.topics, kafka.replication_factor)

    accepted = await file_under_load(healthy, fault, duration_s=10)
    await history_check(healthy, "rolling restart", accepted)


# Seen once in six runs of this module (a fresh-check after the issue-16/17 merges): the ~110 requests
# accepted during the outage stayed `submitted` for 180 s. Not reproduced since (5 runs); the failure message
# now carries each service's readiness and last warnings. Kept visible as XFAIL/XPASS until it is understood.
@pytest.mark.xfail(reason="intermittent: events accepted during a full cluster stop can stall (under study)")
async def test_full_cluster_stop_and_start_keeps_the_log_and_needs_no_replay(healthy: Cluster) -> None:
    kafka = healthy.kafka
    requests_topic = healthy.topics[0]
    before = await end_offsets(kafka.bootstrap_servers, requests_topic)

    async def fault() -> None:
        await asyncio.to_thread(kafka.stop)
        await asyncio.sleep(5)  # the length of the outage: writes keep being accepted meanwhile
        await asyncio.to_thread(kafka.start)  # same ports, same data directories

    accepted = await file_under_load(healthy, fault, duration_s=8)
    await history_check(healthy, "full cluster stop and start", accepted)
    after = await end_offsets(kafka.bootstrap_servers, requests_topic)
    # The records from before the stop are still there (nothing was re-published to rebuild the log),
    # and the requests filed around the outage reached it once the cluster was back.
    assert all(after[p] >= before[p] for p in before), (before, after)
    assert sum(after.values()) - sum(before.values()) >= accepted
