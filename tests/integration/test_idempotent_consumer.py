"""SPEC §7 rules 2 and 3 against the real broker and database: redelivery, poison, crash, commit order."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from shared.consumer import IdempotentConsumer
from shared.db import Database
from shared.events.envelope import CloudEvent, new_event
from shared.events.payloads import Facility, RequestSubmitted
from shared.kafka import ensure_topics, make_producer
from shared.migrations import upgrade
from shared.settings import KafkaSettings
from tests.conftest import Infra
from tests.support.infra import new_database_url
from tests.support.kafka_admin import dead_letter_reader
from tests.support.polling import eventually
from tests.support.probe_consumer import (
    FAIL_ALWAYS,
    SUBSCRIPTION,
    create_effects_table,
    effect_counts,
    transactions_of,
)

KEY = b"same-aggregate"  # one key → one partition → order is the order sent


def submitted(created_by: str = "probe") -> CloudEvent:
    return new_event(
        RequestSubmitted(
            request_id=uuid.uuid4(),
            ref="UA63-2026-000001",
            region="UA-63",
            settlement="Kharkiv",
            facility=Facility(name="Hospital", kind="hospital"),
            category="generator",
            specs={"power_kw": 100},
            quantity=1,
            priority="high",
            needed_by=date(2026, 12, 31),
            submitted_at=datetime.now(UTC),
            created_by=created_by,
        ),
        source="test",
    )


class Probe:
    """A private topic prefix and database for one test module."""

    def __init__(self, kafka: KafkaSettings, db: Database, url: str) -> None:
        self.kafka, self.db, self.url = kafka, db, url
        self.producer: AIOKafkaProducer | None = None

    @property
    def topic(self) -> str:
        return self.kafka.topic("requests")

    async def send(self, *values: bytes) -> None:
        assert self.producer is not None
        for value in values:
            await self.producer.send_and_wait(self.topic, value, key=KEY)

    async def wait_handled(self, event: CloudEvent) -> dict[str, int]:
        return await eventually(
            lambda: effect_counts(self.db), until=lambda c: str(event.id) in c, what=f"effect of {event.id}"
        )


async def _probe(infra: Infra) -> Probe:
    kafka = infra.broker.kafka_settings(topic_prefix=f"p{uuid.uuid4().hex[:8]}", retry_backoff_ms=20)
    await ensure_topics(kafka)
    url = await new_database_url(infra.database, infra.tmp_dir, "probe")
    await asyncio.to_thread(upgrade, "requests", url)  # every service has outbox + processed_events
    db = Database(url)
    await create_effects_table(db)
    probe = Probe(kafka, db, url)
    probe.producer = make_producer(kafka)
    await probe.producer.start()
    return probe


@pytest.fixture(scope="module")
async def running(infra: Infra) -> AsyncIterator[Probe]:
    """A probe with an in-process IdempotentConsumer running for the whole module."""
    probe = await _probe(infra)
    consumer = IdempotentConsumer(SUBSCRIPTION, db=probe.db, kafka=probe.kafka, service="probe")
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.joined.wait(), 30)
    yield probe
    consumer.stop()
    await asyncio.wait_for(task, 30)
    assert probe.producer is not None
    await probe.producer.stop()
    await probe.db.dispose()


async def test_same_event_three_times_has_one_effect(running: Probe) -> None:
    event, sentinel = submitted(), submitted()
    await running.send(event.encode(), event.encode(), event.encode(), sentinel.encode())
    counts = await running.wait_handled(sentinel)
    assert counts[str(event.id)] == 1
    assert counts[str(sentinel.id)] == 1


async def _dead_letters(kafka: KafkaSettings, expected: int) -> list:
    consumer = dead_letter_reader(kafka)
    await consumer.start()
    received: list = []
    try:

        async def fetch() -> list:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                received.extend(records)
            return received

        return await eventually(fetch, until=lambda r: len(r) >= expected, what="dead letters")
    finally:
        await consumer.stop()


async def test_poison_goes_to_dead_letter_with_origin_and_later_messages_are_handled(running: Probe) -> None:
    good = submitted()
    invalid_json = b"{not json"
    unknown_type = submitted().model_copy(update={"type": "vidnova.request.teleported.v1"}).encode()
    failing_validation = submitted().model_copy(update={"data": {"request_id": "nope"}}).encode()
    always_fails = submitted(created_by=FAIL_ALWAYS)
    await running.send(invalid_json, unknown_type, failing_validation, always_fails.encode(), good.encode())

    counts = await running.wait_handled(good)
    assert str(always_fails.id) not in counts

    letters = await _dead_letters(running.kafka, expected=4)
    by_value = {record.value: dict(record.headers) for record in letters}
    assert set(by_value) >= {invalid_json, unknown_type, failing_validation, always_fails.encode()}
    for value in (invalid_json, unknown_type, failing_validation, always_fails.encode()):
        headers = by_value[value]
        assert headers["vidnova-dlq-origin-topic"] == running.topic.encode()
        assert headers["vidnova-dlq-origin-partition"].isdigit()
        assert headers["vidnova-dlq-origin-offset"].isdigit()
        assert headers["vidnova-dlq-error"]
    assert b"UnknownEventType" in by_value[unknown_type]["vidnova-dlq-error"]
    assert b"MalformedEvent" in by_value[invalid_json]["vidnova-dlq-error"]
    assert by_value[always_fails.encode()]["vidnova-dlq-attempts"] == b"3"
    assert b"always fails" in by_value[always_fails.encode()]["vidnova-dlq-error"]


async def _consume_preloaded(infra: Infra, events: list[CloudEvent], until: CloudEvent) -> Probe:
    """A fresh probe whose consumer starts only after ``events`` are on the topic, run until ``until``."""
    probe = await _probe(infra)
    await probe.send(*(event.encode() for event in events))
    consumer = IdempotentConsumer(SUBSCRIPTION, db=probe.db, kafka=probe.kafka, service="probe")
    task = asyncio.create_task(consumer.run())
    try:
        await probe.wait_handled(until)
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 30)
        assert probe.producer is not None
        await probe.producer.stop()
    return probe


async def test_events_that_arrive_together_are_handled_in_one_transaction(infra: Infra) -> None:
    events = [submitted() for _ in range(10)]
    probe = await _consume_preloaded(infra, events, until=events[-1])
    try:
        counts = await effect_counts(probe.db)
        txns = await transactions_of(probe.db, [str(e.id) for e in events])
    finally:
        await probe.db.dispose()
    assert [counts[str(e.id)] for e in events] == [1] * 10
    # Fetched together, so batched: one transaction per event would give 10 (CONSUMER_BATCH_SIZE=1 does).
    assert len(set(txns.values())) < len(events), txns


async def test_a_poison_event_in_a_batch_costs_its_neighbours_nothing(infra: Infra) -> None:
    """The batch rolls back whole; each event is then handled alone, the poison dead-lettered."""
    good = [submitted() for _ in range(8)]
    poison = submitted(created_by=FAIL_ALWAYS)
    probe = await _consume_preloaded(infra, [*good[:4], poison, *good[4:]], until=good[-1])
    try:
        counts = await effect_counts(probe.db)
        letters = await _dead_letters(probe.kafka, expected=1)
    finally:
        await probe.db.dispose()
    assert {str(e.id): counts.get(str(e.id)) for e in good} == {str(e.id): 1 for e in good}
    assert str(poison.id) not in counts
    assert [record.value for record in letters] == [poison.encode()]
    assert dict(letters[0].headers)["vidnova-dlq-attempts"] == b"3"


def _spawn(probe: Probe, mode: str, marker: CloudEvent, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PROBE_DATABASE_URL": probe.url,
        "KAFKA_BOOTSTRAP_SERVERS": probe.kafka.bootstrap_servers,
        "VIDNOVA_TOPIC_PREFIX": probe.kafka.topic_prefix,
        "KAFKA_ENABLE_IDEMPOTENCE": str(probe.kafka.enable_idempotence).lower(),
    }
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.probe_consumer", mode, str(marker.id)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


async def _crash_then_restart(infra: Infra, mode: str, *, batch: int = 1) -> dict[str, int]:
    """Send ``batch - 1`` events, the marker, then run the consumer in ``mode`` until it SIGKILLs itself;
    send a sentinel and restart it normally. Effects per event of the batch, and of the sentinel."""
    probe = await _probe(infra)
    log = infra.tmp_dir / f"{probe.kafka.topic_prefix}-{mode}.log"
    marker, sentinel = submitted(), submitted()
    batch_events = [*(submitted() for _ in range(batch - 1)), marker]
    try:
        await probe.send(*(event.encode() for event in batch_events))
        crashing = _spawn(probe, mode, marker, log)
        code = await eventually(
            lambda: asyncio.sleep(0, crashing.poll()),
            until=lambda c: c is not None,
            timeout_s=60,
            what="crash",
        )
        assert code == -signal.SIGKILL, log.read_text()
        await probe.send(sentinel.encode())
        restarted = _spawn(probe, "normal", marker, log)
        try:
            counts = await eventually(
                lambda: effect_counts(probe.db),
                until=lambda c: str(sentinel.id) in c,
                timeout_s=60,
                what="sentinel",
            )
        finally:
            restarted.send_signal(signal.SIGTERM)
            await asyncio.to_thread(restarted.wait, 30)
        return {
            **{str(event.id): counts.get(str(event.id), 0) for event in batch_events},
            "sentinel": counts[str(sentinel.id)],
        }
    finally:
        assert probe.producer is not None
        await probe.producer.stop()
        await probe.db.dispose()


async def test_sigkill_after_db_commit_before_offset_commit_causes_no_duplicate(infra: Infra) -> None:
    counts = await _crash_then_restart(infra, "crash-after-db-commit")
    assert sorted(counts.values()) == [1, 1], counts


async def test_sigkill_after_a_batch_commit_before_offset_commit_causes_no_duplicate(infra: Infra) -> None:
    counts = await _crash_then_restart(infra, "crash-after-db-commit", batch=6)
    assert sorted(counts.values()) == [1] * 7, counts


async def test_harness_catches_an_offset_committed_before_the_db_commit(infra: Infra) -> None:
    """Mutation check: a consumer that commits offsets first loses the marker's effect, and we see it."""
    counts = await _crash_then_restart(infra, "mutant-commit-first")
    marker_count = next(v for k, v in counts.items() if k != "sentinel")
    assert counts["sentinel"] == 1
    assert marker_count == 0, "the commit-order mutant should have lost the marker event"
