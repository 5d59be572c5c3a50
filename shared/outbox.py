"""Transactional outbox: events are rows committed with the change, a relay publishes them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlmodel import Column, Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import OUTBOX_PENDING_KEY, Database, UTCDateTime, stage_insert, utcnow
from shared.events.envelope import CloudEvent, new_event
from shared.events.payloads import Payload
from shared.events.registry import SECRET_TYPES, lookup
from shared.kafka import CLIENT_FAILURES, make_producer, start_client, stop_client
from shared.leadership import Leadership
from shared.observability import EVENTS_PUBLISHED, OUTBOX_PENDING
from shared.settings import KafkaSettings
from shared.stopping import wait_or_stop
from shared.tracing import SpanKind, span, tracing_enabled

log = logging.getLogger(__name__)


class OutboxRecord(SQLModel, table=True):
    """An event waiting to be (or already) published; written in the business transaction."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index(
            "ix_outbox_unpublished",
            "id",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        ),
        sa.Index("ix_outbox_created_at", "created_at"),  # retention prunes by it
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    )
    event_id: UUID = Field(unique=True)
    event_type: str = Field(max_length=120)
    stream: str = Field(max_length=60)  # topic without the deployment's prefix
    key: str = Field(max_length=200)
    payload: str = Field(sa_column=Column(sa.Text(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))


OUTBOX_TABLE: sa.Table = OutboxRecord.__table__  # type: ignore[attr-defined]


def add_event(session: AsyncSession, event: CloudEvent) -> None:
    """Stage an event in the caller's transaction; it is published only if that transaction commits."""
    row = {
        "event_id": event.id,
        "event_type": event.type,
        "stream": lookup(event.type).stream,
        "key": event.subject,
        "payload": event.encode().decode(),
        "created_at": utcnow(),
        "attempts": 0,
    }
    stage_insert(session, OUTBOX_TABLE, row)
    session.info[OUTBOX_PENDING_KEY] = True


def emit(
    session: AsyncSession,
    payload: Payload,
    *,
    source: str,
    caused_by: CloudEvent | None = None,
    actor: str | None = None,
) -> CloudEvent:
    """Wrap a payload in an envelope and stage it in the caller's transaction."""
    event = new_event(payload, source=source, caused_by=caused_by, actor=actor)
    add_event(session, event)
    return event


async def mark_for_replay(session: AsyncSession, *, since: datetime | None = None) -> int:
    """Queue published events again (consumers are idempotent); returns how many."""
    statement = sa.update(OutboxRecord).where(col(OutboxRecord.published_at).is_not(None))
    if since is not None:
        statement = statement.where(col(OutboxRecord.created_at) >= since)
    result = await session.execute(statement.values(published_at=None))
    session.info[OUTBOX_PENDING_KEY] = True
    return int(result.rowcount)  # type: ignore[attr-defined]


def _publishable_ids(rows: Sequence[OutboxRecord], outcomes: Sequence[BaseException | None]) -> list[int]:
    """Ids safe to mark published: per key, the successes before that key's first failure."""
    failed_keys: set[str] = set()
    ids: list[int] = []
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome is not None:
            failed_keys.add(row.key)
        elif row.key not in failed_keys and row.id is not None:
            ids.append(row.id)
    return ids


RELAY_FAILURES: tuple[type[BaseException], ...] = (*CLIENT_FAILURES, sa.exc.SQLAlchemyError)


class OutboxRelay:
    """Publishes unpublished outbox rows in id order; one active relay per database."""

    def __init__(
        self,
        *,
        db: Database,
        kafka: KafkaSettings,
        service: str,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.db = db
        self.kafka = kafka
        self.service = service
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.max_backoff_s = max_backoff_s
        self.producer: AIOKafkaProducer | None = None
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._leadership = Leadership(db, f"outbox.{service}")
        db.on_outbox_commit(self.wake)

    def wake(self) -> None:
        """Publish now: a transaction with outbox rows has just committed."""
        self._wake.set()

    def stop(self) -> None:
        """Ask the relay loop to finish its current batch and exit."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Publish until stopped, backing off while the broker or database is unavailable."""
        backoff = 0.1
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    await self._producer()
                    published = await self.publish_pending()
                except RELAY_FAILURES as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("outbox relay waiting for infrastructure", extra={"error": self.last_error})
                    if not isinstance(exc, sa.exc.SQLAlchemyError):
                        # A producer that lost its broker mid-send may never recover (aio-libs/aiokafka#1133):
                        # the next attempt starts a fresh one. Unmarked rows are simply sent again.
                        await self._stop_producer()
                    await wait_or_stop(self._stopping, backoff, wake=self._wake)
                    backoff = min(backoff * 2, self.max_backoff_s)
                    continue
                backoff = 0.1
                self.last_error = None
                if published < self.batch_size:
                    await wait_or_stop(self._stopping, self.poll_interval_s, wake=self._wake)
        finally:
            await self.close()

    async def publish_pending(self) -> int:
        """Publish one batch; returns the number of rows marked published."""
        if not await self._leadership.acquire():
            return 0
        rows = await self._pending_rows()
        if not rows:
            OUTBOX_PENDING.labels(self.service).set(0)
            return 0
        producer = await self._producer()
        outcomes = await self._send(producer, rows)
        ids = _publishable_ids(rows, outcomes)
        await self._mark_published(ids, rows, outcomes)
        EVENTS_PUBLISHED.labels(self.service).inc(len(ids))
        first_failure = next((o for o in outcomes if o is not None), None)
        if first_failure is not None:
            raise first_failure
        return len(ids)

    async def _pending_rows(self) -> list[OutboxRecord]:
        async with self.db.session() as session:
            result = await session.exec(
                select(OutboxRecord)
                .where(col(OutboxRecord.published_at).is_(None))
                .order_by(col(OutboxRecord.id))
                .limit(self.batch_size)
            )
            return list(result.all())

    async def _send(
        self, producer: AIOKafkaProducer, rows: Sequence[OutboxRecord]
    ) -> list[BaseException | None]:
        futures = []
        traced = tracing_enabled()
        for row in rows:
            headers = [("ce_type", row.event_type.encode()), ("ce_id", str(row.event_id).encode())]
            topic = self.kafka.topic(row.stream)
            if traced:
                futures.append(await self._send_traced(producer, row, topic, headers))
                continue
            futures.append(
                await producer.send(topic, row.payload.encode(), key=row.key.encode(), headers=headers)
            )
        results = await asyncio.gather(*futures, return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    async def _send_traced(
        self, producer: AIOKafkaProducer, row: OutboxRecord, topic: str, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[object]:
        """Send inside a producer span that continues the trace stored in the event's envelope."""
        parent = json.loads(row.payload).get("traceparent")
        attributes = {
            "messaging.system": "kafka",
            "messaging.destination.name": topic,
            "cloudevents.event_type": row.event_type,
        }
        with span(f"{topic} publish", kind=SpanKind.PRODUCER, traceparent=parent, attributes=attributes):
            future: asyncio.Future[object] = await producer.send(
                topic, row.payload.encode(), key=row.key.encode(), headers=headers
            )
        return future

    async def _mark_published(
        self, ids: list[int], rows: Sequence[OutboxRecord], outcomes: Sequence[BaseException | None]
    ) -> None:
        """Published rows get their time; rows of secret-carrying types are deleted instead (§12)."""
        now = utcnow()
        failed = {row.id: str(o) for row, o in zip(rows, outcomes, strict=True) if o is not None}
        secret = {row.id for row in rows if row.event_type in SECRET_TYPES}
        kept, erased = [i for i in ids if i not in secret], [i for i in ids if i in secret]
        async with self.db.engine.begin() as connection:
            if kept:
                await connection.execute(
                    sa.update(OutboxRecord).where(col(OutboxRecord.id).in_(kept)).values(published_at=now)
                )
            if erased:
                await connection.execute(sa.delete(OutboxRecord).where(col(OutboxRecord.id).in_(erased)))
            for row_id, error in failed.items():
                await connection.execute(
                    sa.update(OutboxRecord)
                    .where(col(OutboxRecord.id) == row_id)
                    .values(attempts=OutboxRecord.attempts + 1, last_error=error[:2000])
                )

    async def _producer(self) -> AIOKafkaProducer:
        if self.producer is None:
            self.producer = await start_client(make_producer(self.kafka))
        return self.producer

    async def _stop_producer(self) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            await stop_client(producer, client="outbox producer")  # it may be replaced because it is broken

    async def close(self) -> None:
        """Stop the producer and give up leadership (``run`` does this when it ends)."""
        await self._stop_producer()
        await self._leadership.release()
