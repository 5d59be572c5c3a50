"""Processed events: a consumer's handlers and the record of what it handled, in one transaction.

The ``processed_events`` row ``(consumer, event id)`` is written in the handler's transaction, so a
redelivered or replayed event finds it and is a no-op. A run of events can be handled in one
transaction, each handler seeing the rows the earlier ones wrote; consecutive events whose type has a
batch handler are given to it together, so that a fan-out writes each table once per batch.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import sqlalchemy as sa
from aiokafka import ConsumerRecord
from sqlmodel import Column, Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, UTCDateTime, utcnow
from shared.events.envelope import CloudEvent
from shared.events.payloads import Payload
from shared.observability import HANDLER_LATENCY, bind_correlation_id, reset_correlation_id
from shared.tracing import consume_span


class ProcessedEvent(SQLModel, table=True):
    """An event this consumer has handled; its key makes redelivery a no-op."""

    __tablename__ = "processed_events"
    __table_args__ = (sa.Index("ix_processed_events_handled_at", "handled_at"),)  # retention prunes by it

    consumer: str = Field(primary_key=True, max_length=120)
    event_id: UUID = Field(primary_key=True)
    event_type: str = Field(max_length=120)
    topic: str = Field(max_length=200)
    partition: int
    offset: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    handled_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


PROCESSED_EVENTS_TABLE: sa.Table = ProcessedEvent.__table__  # type: ignore[attr-defined]


class Handler(Protocol):
    """A use case run for one event, inside the transaction that records it as processed."""

    def __call__(self, payload: Any, /, *, event: CloudEvent, session: AsyncSession) -> Awaitable[None]: ...


class BatchHandler(Protocol):
    """A use case run once for consecutive events of a batch, in their order, inside its transaction.

    Its effect must be the one the events' handlers would have one after the other.
    """

    def __call__(
        self, consumed: Sequence[tuple[Any, CloudEvent]], /, *, session: AsyncSession
    ) -> Awaitable[None]: ...


@dataclass(frozen=True)
class ConsumedEvent:
    """A record that decoded to an event this consumer has a handler (and maybe a batch handler) for."""

    record: ConsumerRecord[bytes, bytes]
    event: CloudEvent
    payload: Payload
    handler: Handler
    batch_handler: BatchHandler | None = None


async def handle_once(
    db: Database,
    *,
    group: str,
    record: ConsumerRecord[bytes, bytes],
    event: CloudEvent,
    payload: Payload,
    handler: Handler,
) -> str:
    """Run the handler and the processed-event insert in one transaction; 'duplicate' if seen before."""
    async with db.session() as session:
        try:
            async with session.begin():
                connection = await session.connection()
                if (await connection.execute(_seen_among(group, [event.id]))).first() is not None:
                    return "duplicate"
                # First, so that a concurrent instance handling the same event waits on this row.
                await connection.execute(PROCESSED_EVENTS_TABLE.insert(), _row(group, record, event))
                await handler(payload, event=event, session=session)
        except sa.exc.IntegrityError:
            # Another instance handled the same event concurrently (processed_events primary key).
            if await _seen(db, group, event.id):
                return "duplicate"
            raise
    return "handled"


async def handle_batch(db: Database, *, group: str, service: str, run: list[ConsumedEvent]) -> list[str]:
    """Run several handlers and their processed-event inserts in one transaction; outcomes as handle_once.

    Each handler starts from an empty identity map (everything before it is flushed and
    expunged), so it sees the rows the earlier ones wrote exactly as if they had committed.
    """
    async with db.session() as session, session.begin():
        connection = await session.connection()
        seen = set((await connection.execute(_seen_among(group, [c.event.id for c in run]))).scalars())
        outcomes: list[str] = []
        fresh: list[ConsumedEvent] = []
        for consumed in run:
            duplicate = consumed.event.id in seen
            outcomes.append("duplicate" if duplicate else "handled")
            if not duplicate:
                seen.add(consumed.event.id)
                fresh.append(consumed)
        if fresh:
            await connection.execute(
                PROCESSED_EVENTS_TABLE.insert(), [_row(group, c.record, c.event) for c in fresh]
            )
        for together in runs_by_batch_handler(fresh):
            first = together[0]
            correlation_ids = {c.event.correlationid for c in together}
            token = bind_correlation_id(first.event.correlationid if len(correlation_ids) == 1 else None)
            started = time.perf_counter()
            try:
                with ExitStack() as spans:
                    for consumed in together:
                        spans.enter_context(consume_span(consumed.record.topic, consumed.event, group=group))
                    if first.batch_handler is not None:
                        await first.batch_handler([(c.payload, c.event) for c in together], session=session)
                    else:
                        await first.handler(first.payload, event=first.event, session=session)
                    await session.flush()
            finally:
                reset_correlation_id(token)
            session.expunge_all()
            share = (time.perf_counter() - started) / len(together)  # handled together: each its share
            for consumed in together:
                HANDLER_LATENCY.labels(service, consumed.event.type).observe(share)
    return outcomes


def runs_by_batch_handler(fresh: list[ConsumedEvent]) -> Iterator[list[ConsumedEvent]]:
    """Consecutive events sharing a batch handler, together; every other event alone; in order."""
    run: list[ConsumedEvent] = []
    for consumed in fresh:
        if run and (consumed.batch_handler is None or consumed.batch_handler is not run[0].batch_handler):
            yield run
            run = []
        if consumed.batch_handler is None:
            yield [consumed]
        else:
            run.append(consumed)
    if run:
        yield run


def _seen_among(group: str, event_ids: list[UUID]) -> sa.Select[UUID]:
    return sa.select(PROCESSED_EVENTS_TABLE.c.event_id).where(
        PROCESSED_EVENTS_TABLE.c.consumer == group, PROCESSED_EVENTS_TABLE.c.event_id.in_(event_ids)
    )


def _row(group: str, record: ConsumerRecord[bytes, bytes], event: CloudEvent) -> dict[str, Any]:
    """A processed-event row as Core values (an ORM object's flush costs several times more, see bench)."""
    return {
        "consumer": group,
        "event_id": event.id,
        "event_type": event.type,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "handled_at": utcnow(),
    }


async def _seen(db: Database, group: str, event_id: UUID) -> bool:
    async with db.session() as session:
        return await session.get(ProcessedEvent, (group, event_id)) is not None
