"""Raw broker limits with aiokafka: batched produce and consume, one-by-one sends, round-trip latency."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.stats import latency, rate

log = logging.getLogger(__name__)

MESSAGE_BYTES = 500
PARTITIONS = 3  # as the services' topics (KAFKA_TOPIC_PARTITIONS)


@dataclass
class BrokerLimits:
    """What one broker sustained, measured on a private topic."""

    bootstrap_servers: str
    produce_per_s: float | None = None
    consume_per_s: float | None = None
    send_and_wait_per_s: float | None = None
    group_join_s: float | None = None
    round_trip: dict[str, Any] = field(default_factory=dict)
    messages: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return dict(self.__dict__)


def _producer(bootstrap: str, idempotent: bool | None = None) -> AIOKafkaProducer:
    # The relay's settings (shared.kafka.make_producer); idempotent where the broker can (Tansu cannot).
    if idempotent is None:
        idempotent = os.environ.get("KAFKA_ENABLE_IDEMPOTENCE", "false").lower() in ("1", "true", "yes")
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=1,
        max_batch_size=256 * 1024,
        request_timeout_ms=10_000,
    )


def _consumer(bootstrap: str, topics: list[str], *, fetch_max_wait_ms: int) -> AIOKafkaConsumer:
    # The services' consumer settings (shared.kafka.make_consumer).
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"{topics[0]}.group",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms,
        heartbeat_interval_ms=100,
        session_timeout_ms=10_000,
        rebalance_timeout_ms=3_000,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )


async def _create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
    finally:
        await admin.close()


async def _delete_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        await admin.delete_topics([name])
    except Exception as exc:  # noqa: BLE001 (Tansu may not implement deletion; the topic is private anyway)
        log.info("could not delete bench topic %s: %s", name, exc)
    finally:
        await admin.close()


async def produce_batched(producer: AIOKafkaProducer, topic: str, count: int) -> float:
    """Seconds to produce `count` messages without waiting for each (as the relay does per batch)."""
    value = b"x" * MESSAGE_BYTES
    started = time.perf_counter()
    for chunk in range(0, count, 5000):
        futures = [
            await producer.send(topic, value, key=str(n).encode())
            for n in range(chunk, min(count, chunk + 5000))
        ]
        await asyncio.gather(*futures)
    return time.perf_counter() - started


async def consume_batched(consumer: AIOKafkaConsumer, count: int, timeout_s: float) -> tuple[float, int]:
    """Seconds from the first message to the `count`-th, getmany + manual commit; and how many arrived."""
    received, started = 0, None
    deadline = time.perf_counter() + timeout_s
    while received < count and time.perf_counter() < deadline:
        batches = await consumer.getmany(timeout_ms=200, max_records=5000)
        for records in batches.values():
            if started is None and records:
                started = time.perf_counter()
            received += len(records)
        if batches:
            await consumer.commit()
    return (time.perf_counter() - (started or time.perf_counter())), received


async def round_trips(
    producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, topic: str, count: int
) -> list[float]:
    """Seconds from send to receipt of one message at a time (the consumer already joined)."""
    samples = []
    for n in range(count):
        marker = f"rt-{n}".encode()
        started = time.perf_counter()
        await producer.send_and_wait(topic, marker + b"x" * (MESSAGE_BYTES - len(marker)), key=marker)
        while True:
            record = await asyncio.wait_for(consumer.getone(), 10)
            if record.value is not None and record.value.startswith(marker + b"x"):
                break
        samples.append(time.perf_counter() - started)
    return samples


async def _join(consumer: AIOKafkaConsumer, timeout_s: float = 30.0) -> float:
    """Seconds until the consumer holds its partitions."""
    started = time.perf_counter()
    await consumer.start()
    while not consumer.assignment():
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError("consumer got no partitions")
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


async def measure_broker(
    bootstrap: str, *, messages: int, one_by_one: int, round_trip_count: int, idempotent: bool | None = None
) -> BrokerLimits:
    """All broker figures on fresh private topics (deleted afterwards where the broker allows)."""
    limits = BrokerLimits(bootstrap_servers=bootstrap, messages=messages)
    bulk, latency_topic = f"bench.{uuid.uuid4().hex[:8]}", f"bench.{uuid.uuid4().hex[:8]}.rt"
    await _create_topic(bootstrap, bulk)
    await _create_topic(bootstrap, latency_topic)
    producer = _producer(bootstrap, idempotent)
    await producer.start()
    try:
        await producer.send_and_wait(bulk, b"warm-up")
        limits.produce_per_s = rate(messages, await produce_batched(producer, bulk, messages))
        started = time.perf_counter()
        for n in range(one_by_one):
            await producer.send_and_wait(bulk, b"y" * MESSAGE_BYTES, key=str(n).encode())
        limits.send_and_wait_per_s = rate(one_by_one, time.perf_counter() - started)
        # One group over both topics: joining takes seconds on Tansu, so it joins once.
        consumer = _consumer(bootstrap, [bulk, latency_topic], fetch_max_wait_ms=10)
        try:
            limits.group_join_s = await _join(consumer)
            elapsed, received = await consume_batched(consumer, messages + one_by_one + 1, timeout_s=60)
            limits.consume_per_s = rate(received, elapsed)
            await round_trips(producer, consumer, latency_topic, 5)  # warm-up
            samples = await round_trips(producer, consumer, latency_topic, round_trip_count)
            limits.round_trip = latency(samples).as_dict()
        finally:
            await consumer.stop()
    finally:
        await producer.stop()
    for topic in (bulk, latency_topic):
        await _delete_topic(bootstrap, topic)
    return limits
