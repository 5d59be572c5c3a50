"""The dead-letter store (SPEC §15): every record a consumer gave up on, kept 30 days, replayable.

The ``<topic>.dlq`` topic keeps the bytes for other tools; this table is what operators list, replay
through the consumer's own handling path (the processed-events table makes a replay of something
handled meanwhile a no-op) and discard with a reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID, uuid4

import sqlalchemy as sa
from aiokafka import ConsumerRecord
from sqlmodel import Column, Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, UTCDateTime, utcnow
from shared.events.envelope import decode_event
from shared.events.registry import MalformedEvent, UnknownEventType
from shared.pagination import fetch_page
from shared.problems import Problem
from shared.redaction import describe_error

log = logging.getLogger(__name__)
RETENTION = timedelta(days=30)
DeadLetterStatus = Literal["open", "replayed", "discarded"]


class DeadLetter(SQLModel, table=True):
    """A record a consumer could not handle: where it came from, why, and what became of it."""

    __tablename__ = "dead_letters"
    __table_args__ = (sa.Index("ix_dead_letters_listing", "created_at", "id"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    consumer: str = Field(max_length=120)  # the consumer group
    topic: str = Field(max_length=200)
    partition: int
    offset: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    key: str | None = Field(default=None, max_length=200)
    event_type: str | None = Field(default=None, max_length=120)
    event_id: UUID | None = None
    error: str = Field(sa_column=Column(sa.Text(), nullable=False))
    attempts: int
    value: bytes = Field(sa_column=Column(sa.LargeBinary(), nullable=False))  # the record as received
    status: str = Field(default="open", max_length=16)  # open | replayed | discarded
    reason: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))
    resolved_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def letter_for(
    record: ConsumerRecord[bytes, bytes], *, consumer: str, error: str, attempts: int
) -> DeadLetter:
    """The store's row for a record a consumer gives up on (event type and id when it decodes)."""
    try:
        event, _ = decode_event(record.value)
    except (MalformedEvent, UnknownEventType):
        event = None
    return DeadLetter(
        consumer=consumer,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode("utf-8", "replace")[:200] if record.key else None,
        event_type=event.type[:120] if event else None,
        event_id=event.id if event else None,
        error=error,
        attempts=attempts,
        value=record.value or b"",
    )


def record_of(letter: DeadLetter) -> ConsumerRecord[bytes, bytes]:
    """The record a dead letter was, for the consumer's handling path on replay."""
    return ConsumerRecord(
        topic=letter.topic, partition=letter.partition, offset=letter.offset, timestamp=0, timestamp_type=0,
        key=letter.key.encode() if letter.key else None, value=letter.value, checksum=None,
        serialized_key_size=-1, serialized_value_size=len(letter.value), headers=[],
    )  # fmt: skip


async def store_dead_letter(db: Database, letter: DeadLetter) -> None:
    """Store one dead letter and forget those past the retention; the topic still has it if this fails."""
    try:
        async with db.session() as session, session.begin():
            await session.execute(
                sa.delete(DeadLetter).where(col(DeadLetter.created_at) < utcnow() - RETENTION)
            )
            session.add(letter)
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        log.error(  # noqa: TRY400 (the traceback could carry the record's content)
            "dead letter not stored; it is on the dead-letter topic",
            extra={"consumer": letter.consumer, "error": describe_error(exc, limit=500)},
        )


async def list_dead_letters(
    *, session: AsyncSession, status: DeadLetterStatus | None, limit: int, cursor: str | None
) -> tuple[list[DeadLetter], str | None]:
    """Dead letters, newest first."""
    statement = select(DeadLetter)
    if status is not None:
        statement = statement.where(DeadLetter.status == status)
    return await fetch_page(session, statement, limit=limit, cursor=cursor)


async def open_dead_letter(*, session: AsyncSession, letter_id: UUID) -> DeadLetter:
    """An unresolved dead letter, locked for its resolution; 404 or 409 otherwise."""
    letter = await session.get(DeadLetter, letter_id, with_for_update=True)
    if letter is None:
        raise Problem(404, "Not Found", f"no dead letter {letter_id}")
    if letter.status != "open":
        raise Problem(
            409,
            "Conflict",
            f"dead letter {letter_id} is already {letter.status}",
            current_status=letter.status,
        )
    return letter


def resolve(letter: DeadLetter, *, status: DeadLetterStatus, by: str, reason: str | None) -> None:
    """Mark a dead letter replayed or discarded."""
    letter.status = status
    letter.resolved_by = by
    letter.reason = reason
    letter.resolved_at = utcnow()
