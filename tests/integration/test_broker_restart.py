"""An in-memory broker restarted under running services: the consumers notice the fresh log on their own.

Tansu forgets every record and committed offset when it restarts. Before the services read the log
again, their consumers still hold positions in the old one (and may commit them to the new one); a
consumer that kept them would skip the start of the fresh log — events the outboxes had marked
published. Here the broker is killed while the services run, requests keep arriving, the broker comes
back on the same port, the topics and the documented outbox replay follow, and every acknowledged
request must reach an outcome, each notified once.
"""

from __future__ import annotations

import asyncio
import re
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.consumer import IdempotentConsumer
from shared.db import Database
from shared.kafka import ensure_topics
from shared.migrations import upgrade
from shared.outbox import mark_for_replay
from shared.settings import SERVICE_NAMES, KafkaSettings
from tests.conftest import Infra
from tests.factories import request_body
from tests.integration.test_faults import _statuses, waitlisted_and_notified_once
from tests.integration.test_idempotent_consumer import KEY, submitted
from tests.support.infra import BrokerChoice, new_database_url
from tests.support.polling import eventually
from tests.support.probe_consumer import SUBSCRIPTION, create_effects_table, effect_counts
from tests.support.stack import ServiceStack, make_stack
from tests.support.tcp_proxy import TcpProxy
from vidnova.broker import EmbeddedBroker, free_port

RESETS = re.compile(r"^vidnova_consumer_log_resets_total\{[^}]*\} ([0-9.]+)$", re.MULTILINE)


async def _submit(stack: ServiceStack, count: int) -> set[str]:
    async with stack.client("requests", "kharkiv") as client:
        responses = await asyncio.gather(
            *(client.post("/v1/requests", json=request_body()) for _ in range(count))
        )
    assert [r.status_code for r in responses] == [201] * count, [
        r.text for r in responses if r.status_code != 201
    ]
    return {r.json()["id"] for r in responses}


async def _replay(stack: ServiceStack) -> None:
    """What `vidnova outbox NAME --replay` does, for every service."""
    for name in SERVICE_NAMES:
        db = Database(stack.database_url(name))
        try:
            async with db.session() as session, session.begin():
                await mark_for_replay(session)
        finally:
            await db.dispose()


async def _log_resets(stack: ServiceStack) -> float:
    async with stack.client("allocation") as client:
        text = (await client.get("/metrics")).text
    return sum(float(value) for value in RESETS.findall(text))


async def test_consumers_reread_a_restarted_in_memory_broker(infra: Infra) -> None:
    broker = EmbeddedBroker(log_path=infra.tmp_dir / "restarted-broker.log")
    broker.start()
    stack = await make_stack(
        broker=BrokerChoice("embedded", broker.bootstrap_servers, supports_idempotence=False),
        database=infra.database,
        tmp_dir=infra.tmp_dir,
        CONSUMER_LOG_CHECK_INTERVAL_MS="300",
    )
    try:
        before = await _submit(stack, 30)
        await eventually(
            lambda: _statuses(stack, before),
            until=lambda s: len(s) == 30 and set(s.values()) == {"waitlisted"},
            timeout_s=90,
            interval_s=0.3,
            what="the first 30 waitlisted",
        )
        old_cluster = broker.cluster_id

        broker.stop()
        during = await _submit(stack, 10)  # accepted while the broker is gone: they wait in the outbox
        broker.start()
        assert broker.cluster_id != old_cluster
        await ensure_topics(stack.kafka_settings())
        await _replay(stack)
        after = await _submit(stack, 10)

        ids = before | during | after
        await waitlisted_and_notified_once(
            stack, ids, "every acknowledged request waitlisted after the restart"
        )
        # The consumers said so: the allocation service's counted at least one reset of its log.
        assert await eventually(lambda: _log_resets(stack), until=lambda n: n >= 1, what="reset counted")
        assert "log reset detected" in stack.log_tail("allocation", lines=2000)
    finally:
        stack.stop()
        broker.stop()


async def _produce(bootstrap: str, topic: str, count: int) -> list[str]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        events = [submitted() for _ in range(count)]
        for event in events:
            await producer.send_and_wait(topic, event.encode(), key=KEY)
        return [str(event.id) for event in events]
    finally:
        await producer.stop()


async def _commit_as(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """A commit of old positions reaching the fresh broker, as a consumer's rebalance hook would send it."""
    stale = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    stale.assign(list(offsets))
    await stale.start()
    try:
        await stale.commit(offsets)
    finally:
        await stale.stop()


async def test_a_running_consumer_never_resumes_past_the_start_of_a_fresh_log(infra: Infra) -> None:
    # The consumer reaches the broker through a proxy; while the proxy is cut, the broker restarts
    # empty, its group gets the consumer's old committed offset (the stale commit that stranded events
    # in issue 17) and receives new events below it. Then the proxy comes back.
    proxy = TcpProxy(upstream_port=free_port())
    broker = EmbeddedBroker(
        port=proxy.upstream_port, advertised_port=proxy.port, log_path=infra.tmp_dir / "fresh-log.log"
    )
    broker.start()
    await proxy.start()
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{proxy.port}",
        topic_prefix=f"f{uuid.uuid4().hex[:8]}",
        enable_idempotence=False,
        retry_backoff_ms=20,
        log_check_interval_ms=200,
    )
    url = await new_database_url(infra.database, infra.tmp_dir, "fresh")
    await asyncio.to_thread(upgrade, "requests", url)
    db = Database(url)
    await create_effects_table(db)
    await ensure_topics(kafka)
    consumer = IdempotentConsumer(SUBSCRIPTION, db=db, kafka=kafka, service="probe")
    task = asyncio.create_task(consumer.run())
    try:
        old = await _produce(kafka.bootstrap_servers, kafka.topic("requests"), 30)
        await eventually(
            lambda: effect_counts(db), until=lambda c: set(old) <= set(c), what="old log handled"
        )
        position = {tp: offset for tp, offset in consumer.log_watch.positions.items() if offset == 30}
        assert position, consumer.log_watch.positions

        await proxy.cut()
        broker.stop()
        fresh = EmbeddedBroker(port=proxy.upstream_port, log_path=infra.tmp_dir / "fresh-log.log")
        fresh.start()  # advertises its own port: reachable below while the proxy is cut
        direct = kafka.model_copy(update={"bootstrap_servers": fresh.bootstrap_servers})
        await ensure_topics(direct)
        await _commit_as(fresh.bootstrap_servers, consumer.group, position)
        new = await _produce(fresh.bootstrap_servers, kafka.topic("requests"), 5)  # offsets 0 to 4
        await proxy.start()

        counts = await eventually(
            lambda: effect_counts(db),
            until=lambda c: set(new) <= set(c),
            what="the fresh log's events handled",
        )
        assert all(counts[event_id] == 1 for event_id in old + new)
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 30)
        await proxy.cut()
        broker.stop()
        if "fresh" in locals():
            fresh.stop()
        await db.dispose()
