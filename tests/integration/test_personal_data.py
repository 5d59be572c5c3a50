"""A forced database error with a contact's e-mail and phone as bound values leaks them nowhere (§14.7):
not in any log line (tracebacks included), not in the dead-letter headers."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.consumer import IdempotentConsumer, Subscription
from shared.events.envelope import CloudEvent, new_event
from shared.events.payloads import Facility, RequestSubmitted
from shared.kafka import make_producer
from shared.observability import JsonFormatter
from tests.conftest import Infra
from tests.support.kafka_admin import dead_letter_reader
from tests.support.polling import eventually
from tests.support.probe_consumer import isolated_messaging

EMAIL, PHONE = "olena.koval@example.org", "+380 57 700 12 34"


async def store_contact(payload: RequestSubmitted, *, event: CloudEvent, session: AsyncSession) -> None:
    """A handler that writes a contact the table refuses (its CHECK fails): a database error."""
    await session.execute(
        sa.text("INSERT INTO contact_probe (email, phone) VALUES (:email, :phone)"),
        {"email": EMAIL, "phone": PHONE},
    )


REFUSING_TABLE = "CREATE TABLE contact_probe (email VARCHAR(200) CHECK (length(email) < 5), phone TEXT)"
SUBSCRIPTION = Subscription(
    group="pii-probe", streams=("requests",), handlers={RequestSubmitted: store_contact}
)


class Lines(logging.Handler):
    """Every log record as the services write it (JSON lines, tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter("probe"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[Lines]:
    handler, root = Lines(), logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.DEBUG
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def submitted() -> CloudEvent:
    return new_event(
        RequestSubmitted(
            request_id=uuid.uuid4(), ref="UA63-2026-000777", region="UA-63", settlement="Kharkiv",
            facility=Facility(name="Hospital", kind="hospital"), category="generator",
            specs={"power_kw": 100}, quantity=1, priority="high", needed_by=date(2026, 12, 31),
            submitted_at=datetime.now(UTC), created_by="pii-probe",
        ),
        source="test",
    )  # fmt: skip


async def test_a_database_error_with_contact_details_leaks_them_into_no_log_or_dead_letter(
    infra: Infra, captured: Lines
) -> None:
    kafka, _, db = await isolated_messaging(infra, "pii", REFUSING_TABLE)
    consumer = IdempotentConsumer(SUBSCRIPTION, db=db, kafka=kafka, service="probe")
    task = asyncio.create_task(consumer.run())
    producer, reader = make_producer(kafka), dead_letter_reader(kafka)
    await producer.start()
    await reader.start()
    try:
        await asyncio.wait_for(consumer.joined.wait(), 30)
        event = submitted()
        await producer.send_and_wait(kafka.topic("requests"), event.encode(), key=b"k")
        [letter] = await eventually(lambda: fetch(reader), timeout_s=60, what="the dead letter")
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 30)
        await producer.stop()
        await reader.stop()
        await db.dispose()

    headers = {name: value.decode() for name, value in letter.headers}
    assert "IntegrityError" in headers["vidnova-dlq-error"]
    assert "parameters hidden" in headers["vidnova-dlq-error"]  # hide_parameters, the first guard
    failures = [line for line in captured.lines if "handler failed" in line]
    assert len(failures) == 3  # CONSUMER_MAX_ATTEMPTS attempts, each logged with its traceback
    assert all("IntegrityError" in line for line in failures)
    for text in [*captured.lines, *headers.values()]:
        for secret in (EMAIL, PHONE, "olena.koval", "700 12 34"):
            assert secret not in text, text


async def fetch(reader: AIOKafkaConsumer) -> list:
    return [r for records in (await reader.getmany(timeout_ms=200)).values() for r in records]
