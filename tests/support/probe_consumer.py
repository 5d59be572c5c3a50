"""A consumer used by the reliability tests: its handler records one effect row per handled event.

Run in-process, or as ``python -m tests.support.probe_consumer MODE MARKER`` with the database and
broker from the environment, where MODE is:
- ``normal``: consume until SIGTERM;
- ``crash-after-db-commit``: SIGKILL itself right after the marker event's transaction commits
  and before its offset is committed;
- ``mutant-commit-first``: a deliberately wrong consumer that commits the offset *before* handling,
  then SIGKILLs itself before the marker's transaction — the harness must notice the lost effect.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from aiokafka import ConsumerRecord, TopicPartition
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.consumer import Handler, IdempotentConsumer, Subscription
from shared.db import Database
from shared.events.envelope import CloudEvent
from shared.events.payloads import Payload, RequestSubmitted
from shared.kafka import ensure_topics
from shared.migrations import upgrade
from shared.processed_events import ConsumedEvent
from shared.settings import KafkaSettings
from tests.support.infra import new_database_url

FAIL_ALWAYS = "always-fails"

EFFECTS_DDL = (
    "CREATE TABLE IF NOT EXISTS probe_effects"
    " (event_id VARCHAR(36) NOT NULL, request_id VARCHAR(36), txn VARCHAR(32) NOT NULL)"
)


async def record_effect(payload: RequestSubmitted, *, event: CloudEvent, session: AsyncSession) -> None:
    """The observable effect: one row per handling (no unique key, so duplicates would show).

    ``txn`` names the session the handler ran in: events handled in one transaction share it.
    """
    if payload.created_by == FAIL_ALWAYS:
        raise RuntimeError("this event always fails to be handled")
    await session.execute(
        sa.text("INSERT INTO probe_effects (event_id, request_id, txn) VALUES (:e, :r, :t)"),
        {
            "e": str(event.id),
            "r": str(payload.request_id),
            "t": session.info.setdefault("probe_txn", uuid4().hex),
        },
    )


HANDLERS: dict[type[Payload], Handler] = {RequestSubmitted: record_effect}
SUBSCRIPTION = Subscription(group="probe", streams=("requests",), handlers=HANDLERS)


async def effect_counts(db: Database) -> dict[str, int]:
    """event id → number of effect rows."""
    async with db.session() as session:
        rows = await session.execute(
            sa.text("SELECT event_id, COUNT(*) FROM probe_effects GROUP BY event_id")
        )
        return {str(event_id): int(count) for event_id, count in rows.all()}


async def transactions_of(db: Database, event_ids: list[str]) -> dict[str, str]:
    """event id → the transaction its effect was written in."""
    async with db.session() as session:
        rows = await session.execute(sa.text("SELECT event_id, txn FROM probe_effects"))
        return {str(event_id): str(txn) for event_id, txn in rows.all() if str(event_id) in event_ids}


async def create_effects_table(db: Database) -> None:
    """The probe's own table, beside the service tables the migrations created."""
    async with db.engine.begin() as connection:
        await connection.execute(sa.text(EFFECTS_DDL))


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class CrashAfterDbCommit(IdempotentConsumer):
    """Dies between the handlers' commit and the offset commit (one event or a batch with the marker)."""

    marker: UUID

    async def handle_batch(self, run: list[ConsumedEvent]) -> list[str]:
        outcomes = await super().handle_batch(run)
        if any(consumed.event.id == self.marker for consumed in run):
            _die()
        return outcomes

    async def handle_once(
        self, record: ConsumerRecord, event: CloudEvent, payload: Payload, handler: Handler
    ) -> str:  # type: ignore[type-arg]
        outcome = await super().handle_once(record, event, payload, handler)
        if event.id == self.marker:
            _die()
        return outcome


class MutantCommitFirst(IdempotentConsumer):
    """WRONG ON PURPOSE: commits the offset before the handler's transaction."""

    marker: UUID

    async def handle_once(
        self, record: ConsumerRecord, event: CloudEvent, payload: Payload, handler: Handler
    ) -> str:  # type: ignore[type-arg]
        assert self._consumer is not None
        await self._consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
        if event.id == self.marker:
            _die()
        return await super().handle_once(record, event, payload, handler)


async def main(mode: str, marker: str) -> None:
    db = Database(os.environ["PROBE_DATABASE_URL"])
    kafka = KafkaSettings()
    consumer_class = {
        "normal": IdempotentConsumer,
        "crash-after-db-commit": CrashAfterDbCommit,
        "mutant-commit-first": MutantCommitFirst,
    }[mode]
    consumer = consumer_class(SUBSCRIPTION, db=db, kafka=kafka, service="probe")
    consumer.marker = UUID(marker)  # type: ignore[attr-defined]
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, consumer.stop)
    await consumer.run()
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))


async def isolated_messaging(infra: Any, name: str, *statements: str) -> tuple[KafkaSettings, str, Database]:
    """A private topic prefix (topics created) and a fresh, migrated database with extra tables."""
    kafka = infra.broker.kafka_settings(topic_prefix=f"{name}{uuid4().hex[:8]}", retry_backoff_ms=20)
    await ensure_topics(kafka)
    url = await new_database_url(infra.database, infra.tmp_dir, name)
    await asyncio.to_thread(upgrade, "requests", url)  # any service's migrations carry the shared tables
    db = Database(url)
    async with db.engine.begin() as connection:
        for statement in statements:
            await connection.execute(sa.text(statement))
    return kafka, url, db
