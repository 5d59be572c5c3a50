"""What the broker-fault tests ask a Kafka cluster: partition leaders, replication, log end offsets."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.kafka import make_admin
from shared.settings import KafkaSettings

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def admin_client(bootstrap_servers: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = make_admin(KafkaSettings(bootstrap_servers=bootstrap_servers))
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def partitions(bootstrap_servers: str, topics: list[str]) -> list[dict[str, Any]]:
    """Each partition of the topics with its leader, replicas and in-sync replicas."""
    async with admin_client(bootstrap_servers) as admin:
        described = await admin.describe_topics(topics)
    return [{"topic": topic["topic"], **p} for topic in described for p in topic["partitions"]]


async def leader_of(bootstrap_servers: str, topic: str, partition: int = 0) -> int:
    """The node id leading one partition."""
    for found in await partitions(bootstrap_servers, [topic]):
        if found["partition"] == partition:
            return int(found["leader"])
    raise LookupError(f"{topic}[{partition}] not found")


async def wait_fully_replicated(
    bootstrap_servers: str, topics: list[str], replicas: int, *, timeout_s: float = 120.0
) -> None:
    """Until every partition of the topics has a leader and all its replicas in sync."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            found = await partitions(bootstrap_servers, topics)
            lagging = [(p["topic"], p["partition"], p["isr"]) for p in found if len(p["isr"]) < replicas]
            if found and not lagging and all(p["leader"] >= 0 for p in found):
                return
            last = lagging
        except (KafkaError, OSError) as exc:
            last = exc
        await asyncio.sleep(0.5)
    raise TimeoutError(f"not fully replicated within {timeout_s}s; last: {last!r}")


async def end_offsets(bootstrap_servers: str, topic: str) -> dict[int, int]:
    """The log end offset of each partition of a topic (how many records it holds)."""
    numbers = {p["partition"] for p in await partitions(bootstrap_servers, [topic])}
    if not numbers:
        raise LookupError(f"topic {topic} has no partitions")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        offsets = await consumer.end_offsets([TopicPartition(topic, n) for n in sorted(numbers)])
        return {tp.partition: offset for tp, offset in offsets.items()}
    finally:
        await consumer.stop()


def strimzi_acls() -> dict[str, list[dict[str, Any]]]:
    """Each service user's ACLs as deploy/kubernetes/base/users.yaml grants them (KafkaUser name → ACLs)."""
    documents = yaml.safe_load_all((ROOT / "deploy/kubernetes/base/users.yaml").read_text())
    users = [doc for doc in documents if doc and doc["kind"] == "KafkaUser"]
    return {user["metadata"]["name"]: user["spec"]["authorization"]["acls"] for user in users}


def dead_letter_reader(kafka: KafkaSettings, stream: str = "requests") -> AIOKafkaConsumer:
    """A consumer of one stream's dead-letter topic, from its start, in a group of its own."""
    return AIOKafkaConsumer(
        kafka.topic(stream) + ".dlq",
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"dlq-reader-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
        heartbeat_interval_ms=100,
    )


def compose_grants() -> set[tuple[str, tuple[str, ...], str, str]]:
    """deploy/compose/kafka/acls.txt: (user, operations, resource type, name) per line."""
    granted = set()
    for line in (ROOT / "deploy/compose/kafka/acls.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            user, operations, resource, name = line.split()
            granted.add((user, tuple(operations.split(",")), resource, name))
    return granted
