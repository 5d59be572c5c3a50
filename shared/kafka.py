"""Producer, consumer and admin clients configured one way for every service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from shared.events.registry import STREAMS
from shared.settings import ConfigurationError, KafkaSettings

log = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"

# What a broker outage or a lost broker can raise from an aiokafka client. RuntimeError is there because
# under uvloop a send on a connection the broker closed raises it instead of an OSError (seen when a
# partition leader is SIGKILLed: aio-libs/aiokafka#1038); the client is then unusable and is rebuilt.
CLIENT_FAILURES: tuple[type[BaseException], ...] = (KafkaError, OSError, RuntimeError)

Client = TypeVar("Client", AIOKafkaConsumer, AIOKafkaProducer)


def security_options(settings: KafkaSettings) -> dict[str, Any]:
    """Authentication and TLS options of every client: producers, consumers and the admin client (§14.4)."""
    options: dict[str, Any] = {"security_protocol": settings.security_protocol}
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None,
            certfile=str(settings.ssl_certfile) if settings.ssl_certfile else None,
            keyfile=str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
        )
    if settings.security_protocol.startswith("SASL"):
        # Checked here, not when settings load: a migration job reads the same settings, makes no client.
        if not settings.sasl_username or settings.sasl_password is None:
            raise ConfigurationError(
                f"{settings.security_protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return options


def make_producer(settings: KafkaSettings, **overrides: Any) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas; idempotent where the broker supports it."""
    options: dict[str, Any] = {
        **security_options(settings),
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
        **security_options(settings),
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


async def start_client(client: Client) -> Client:
    """Start a client, or stop it again and re-raise: a half-started client holds connections and tasks."""
    try:
        await client.start()
    except BaseException:
        await client.stop()
        raise
    return client


async def stop_client(client: AIOKafkaConsumer | AIOKafkaProducer, /, **context: str) -> None:
    """Stop a client that may be broken (that is often why it is being stopped); ``context`` is logged."""
    try:
        await client.stop()
    except CLIENT_FAILURES as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.info("kafka client stopped with an error", extra={**context, "error": error})


def all_topics(settings: KafkaSettings) -> list[str]:
    """Every topic of the system, dead-letter topics included."""
    topics = [settings.topic(stream) for stream in STREAMS]
    return topics + [topic + DLQ_SUFFIX for topic in topics]


def make_admin(settings: KafkaSettings) -> AIOKafkaAdminClient:
    """An admin client (topic management)."""
    return AIOKafkaAdminClient(
        **security_options(settings), bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=10_000
    )


async def ensure_topics(settings: KafkaSettings, *, timeout_s: float = 30.0) -> list[str]:
    """Create missing topics with the configured partitions and replication; return those created."""
    admin = make_admin(settings)
    await asyncio.wait_for(admin.start(), timeout_s)
    try:
        existing = set(await admin.list_topics())
        configs = {}
        if settings.topic_min_insync_replicas is not None:
            configs["min.insync.replicas"] = str(settings.topic_min_insync_replicas)
        partitions, replicas = settings.topic_partitions, settings.topic_replication_factor
        wanted = [
            NewTopic(name, partitions, replicas, topic_configs=configs)
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
