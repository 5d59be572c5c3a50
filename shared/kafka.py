"""Producer, consumer and admin clients configured one way for every service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.events.registry import STREAMS
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"


def make_producer(settings: KafkaSettings, **overrides: Any) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas; idempotent where the broker supports it."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "acks": "all",
        "enable_idempotence": settings.enable_idempotence,
        "linger_ms": 1,
        "request_timeout_ms": 10_000,
        "retry_backoff_ms": 200,
        "client_id": "vidnova-producer",
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(
    settings: KafkaSettings,
    *,
    group_id: str,
    topics: Iterable[str],
    listener: ConsumerRebalanceListener,
    group_instance_id: str | None = None,
) -> AIOKafkaConsumer:
    """A group consumer with manual commits, tuned for per-hop latency; static if given an instance id."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=group_id,
        group_instance_id=group_instance_id,
        client_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        session_timeout_ms=settings.session_timeout_ms,
        rebalance_timeout_ms=settings.rebalance_timeout_ms,
        max_poll_interval_ms=300_000,
        request_timeout_ms=15_000,
    )
    consumer.subscribe(topics=list(topics), listener=listener)
    return consumer


def all_topics(settings: KafkaSettings) -> list[str]:
    """Every topic of the system, dead-letter topics included."""
    topics = [settings.topic(stream) for stream in STREAMS]
    return topics + [topic + DLQ_SUFFIX for topic in topics]


async def ensure_topics(settings: KafkaSettings, *, timeout_s: float = 30.0) -> list[str]:
    """Create missing topics with the configured partitions and replication; return those created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=10_000)
    await asyncio.wait_for(admin.start(), timeout_s)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, settings.topic_partitions, settings.topic_replication_factor)
            for name in all_topics(settings)
            if name not in existing
        ]
        if not wanted:
            return []
        try:
            await admin.create_topics(wanted)
        except TopicAlreadyExistsError:
            log.info("topics created concurrently by another process")
        return [topic.name for topic in wanted]
    finally:
        await admin.close()


async def broker_reachable(producer: AIOKafkaProducer | None, *, timeout_s: float = 2.0) -> bool:
    """Whether the broker answers a metadata request through this producer's client."""
    if producer is None:
        return False
    try:
        return bool(await asyncio.wait_for(producer.client.force_metadata_update(), timeout_s))
    except (TimeoutError, KafkaError, OSError):
        return False
