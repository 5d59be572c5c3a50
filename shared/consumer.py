"""Idempotent consumer: inbox rows + handlers in one transaction, offsets committed afterwards.

The events of one partition that arrive together are handled in one transaction (up to
``CONSUMER_BATCH_SIZE``): one commit instead of one per event is most of the cost saved under load.
If anything in that transaction fails, it rolls back whole and the same events are handled one at a
time, each in its own transaction with bounded retries and the dead-letter topic, so a poison event
costs only the batching, never a neighbour's effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaTimeoutError
from sqlmodel import Column, Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import TRANSIENT_DB_ERRORS, Database, UTCDateTime, utcnow
from shared.dead_letters import DeadLetter, letter_for, record_of, store_dead_letter
from shared.events.envelope import CloudEvent, decode_event
from shared.events.payloads import Payload
from shared.events.registry import MalformedEvent, UnknownEventType, event_type_for
from shared.kafka import CLIENT_FAILURES, DLQ_SUFFIX, make_consumer, make_producer
from shared.log_reset import LogWatch
from shared.observability import (
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    HANDLER_LATENCY,
    bind_correlation_id,
    reset_correlation_id,
)
from shared.redaction import describe_error
from shared.settings import KafkaSettings
from shared.tracing import consume_span

log = logging.getLogger(__name__)


class InboxRecord(SQLModel, table=True):
    """An event this consumer has handled; its key makes redelivery a no-op."""

    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=120)
    event_id: UUID = Field(primary_key=True)
    event_type: str = Field(max_length=120)
    topic: str = Field(max_length=200)
    partition: int
    offset: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    handled_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


INBOX_TABLE: sa.Table = InboxRecord.__table__  # type: ignore[attr-defined]


class Handler(Protocol):
    """A use case run for one event, inside the transaction that records it in the inbox."""

    def __call__(self, payload: Any, /, *, event: CloudEvent, session: AsyncSession) -> Awaitable[None]: ...


@dataclass(frozen=True)
class Subscription:
    """What one consumer group reads and which handler serves each payload type."""

    group: str
    streams: tuple[str, ...]
    handlers: Mapping[type[Payload], Handler]


@dataclass(frozen=True)
class Delivery:
    """A record that decoded to an event this consumer has a handler for."""

    record: ConsumerRecord[bytes, bytes]
    event: CloudEvent
    payload: Payload
    handler: Handler


# Longer than any commit takes with a broker that answers (request_timeout_ms is 15 s).
COMMIT_TIMEOUT_S = 20.0


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: IdempotentConsumer) -> None:
        self.owner = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.owner.commit_before_revoke(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.owner.joined.set()
        log.info(
            "partitions assigned", extra={"group": self.owner.group, "partitions": sorted(map(str, assigned))}
        )


class IdempotentConsumer:
    """Reads a consumer group's topics, handles each event exactly once in effect, dead-letters poison."""

    def __init__(
        self,
        subscription: Subscription,
        *,
        db: Database,
        kafka: KafkaSettings,
        service: str,
        backoff: Callable[[int], float] | None = None,
        instance_id: str | None = None,
    ) -> None:
        self.subscription = subscription
        self.group = kafka.topic(subscription.group)
        self.topics = [kafka.topic(stream) for stream in subscription.streams]
        self.db = db
        self.kafka = kafka
        self.service = service
        self.handlers = {event_type_for(t).ce_type: h for t, h in subscription.handlers.items()}
        self.backoff = backoff or (lambda attempt: kafka.retry_backoff_ms / 1000 * 2 ** (attempt - 1))
        self.joined = asyncio.Event()
        self.last_error: str | None = None
        self.instance_id = instance_id
        self.log_watch = LogWatch(
            service=service, group=self.group, interval_s=kafka.log_check_interval_ms / 1000
        )
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._processing = asyncio.Lock()
        self._done: dict[TopicPartition, int] = {}
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the message in hand, commit, and leave the group."""
        self._stopping.set()

    @property
    def running(self) -> bool:
        """Joined its group and not stopping."""
        return self.joined.is_set() and not self._stopping.is_set()

    async def run(self) -> None:
        """Consume until stopped; reconnects with backoff while the broker is unavailable."""
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                await self._start()
                backoff = 0.2
                await self._consume()
            except CLIENT_FAILURES as exc:
                # The client is rebuilt from scratch: positions come back from the group's commits.
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "consumer waiting for broker", extra={"group": self.group, "error": self.last_error}
                )
                await self._close()
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        await self._close()

    async def _start(self) -> None:
        if self._consumer is None:
            consumer = make_consumer(
                self.kafka,
                group_id=self.group,
                topics=self.topics,
                listener=_Rebalance(self),
                group_instance_id=self.instance_id,
            )
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()
                raise
            self._consumer = consumer
        if self._dlq is None:
            dlq = make_producer(self.kafka, client_id=f"{self.group}-dlq")
            try:
                await dlq.start()
            except BaseException:
                await dlq.stop()
                raise
            self._dlq = dlq

    async def _consume(self) -> None:
        assert self._consumer is not None
        interval = self.kafka.commit_interval_ms / 1000
        last_commit = time.monotonic()
        while not self._stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=200, max_records=200)
            for tp, records in batches.items():
                self.log_watch.received(tp, records[-1].offset + 1)
                async with self._processing:
                    await self._process_partition(tp, records)
            if self.log_watch.due():
                async with self._processing:
                    if await self.log_watch.restarted_if_reset(self._consumer):
                        self._done.clear()  # positions in a log that is gone: never commit them
            # An offset commit is a broker round trip: one per interval, not one per batch.
            if self._done and (not batches or time.monotonic() - last_commit >= interval):
                async with self._processing:
                    await self._commit(set(self._done))
                last_commit = time.monotonic()

    async def _process_partition(
        self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        """Handle one partition's records in order: runs of handled events together, the rest alone."""
        run: list[Delivery] = []
        for record in records:
            if not self._owns(tp):
                return  # what is not marked done is re-read by the partition's next owner
            triaged = self._triage(record)
            if isinstance(triaged, Delivery):
                run.append(triaged)
                if len(run) < self.kafka.batch_size:
                    continue
            if run:  # the records before this one come first
                handled, run = await self._handle_run(tp, run), []
                if not handled:
                    return
            if isinstance(triaged, Exception):
                await self._dead_letter(record, triaged, attempts=0)
            if not isinstance(triaged, Delivery):
                self._done[tp] = record.offset + 1
        if run:
            await self._handle_run(tp, run)

    def _owns(self, tp: TopicPartition) -> bool:
        return (
            not self._stopping.is_set() and self._consumer is not None and tp in self._consumer.assignment()
        )

    def _triage(self, record: ConsumerRecord[bytes, bytes]) -> Delivery | Exception | None:
        """A delivery to handle, why a record is poison (malformed, unknown type), or None if ignored."""
        try:
            event, payload = decode_event(record.value)
        except (MalformedEvent, UnknownEventType) as exc:
            return exc
        handler = self.handlers.get(event.type)
        if handler is None:
            EVENTS_CONSUMED.labels(self.service, event.type, "ignored").inc()
            return None
        return Delivery(record, event, payload, handler)

    async def _handle_run(self, tp: TopicPartition, run: list[Delivery]) -> bool:
        """Handle consecutive events, together if possible; False if stopped before all were handled."""
        if not self._owns(tp):
            return False
        if len(run) > 1:
            try:
                outcomes = await self.handle_batch(run)
            except Exception as exc:  # noqa: BLE001 (rolled back whole; each event gets its own chance below)
                log.info(
                    "batch rolled back, handling its events one at a time",
                    extra={"group": self.group, "events": len(run), "error": f"{type(exc).__name__}: {exc}"},
                )
            else:
                for delivery, outcome in zip(run, outcomes, strict=True):
                    EVENTS_CONSUMED.labels(self.service, delivery.event.type, outcome).inc()
                self._done[tp] = run[-1].record.offset + 1
                return True
        for delivery in run:
            if not self._owns(tp):
                return False
            token = bind_correlation_id(delivery.event.correlationid)
            try:
                with consume_span(delivery.record.topic, delivery.event, group=self.group):
                    handled = await self._handle_with_retries(
                        delivery.record, delivery.event, delivery.payload, delivery.handler
                    )
            finally:
                reset_correlation_id(token)
            if not handled:
                return False  # stopping while infrastructure was down: leave it uncommitted
            self._done[tp] = delivery.record.offset + 1
        return True

    async def commit_before_revoke(self, revoked: set[TopicPartition]) -> None:
        """Rebalance hook: wait for the message in hand, then commit what was handled."""
        async with self._processing:
            try:
                await self._commit(revoked, guarded=True)
            except CLIENT_FAILURES as exc:
                # The next owner re-reads from the last commit; the processed-events table dedupes.
                log.warning("commit before revoke failed", extra={"group": self.group, "error": str(exc)})
            finally:
                for tp in revoked:
                    self._done.pop(tp, None)
                self.log_watch.forget(revoked)

    async def _commit(
        self,
        partitions: set[TopicPartition],
        consumer: AIOKafkaConsumer | None = None,
        *,
        guarded: bool = False,
    ) -> None:
        """Commit handled offsets; ``guarded`` (rebalance, shutdown) first checks the log was not reset."""
        consumer = consumer or self._consumer
        offsets = {tp: offset for tp, offset in self._done.items() if tp in partitions}
        if not offsets or consumer is None:
            return
        if guarded and not await self.log_watch.safe_to_commit(consumer, set(offsets)):
            for tp in offsets:
                self._done.pop(tp, None)
            return
        try:
            await asyncio.wait_for(consumer.commit(offsets), COMMIT_TIMEOUT_S)
        except TimeoutError as exc:
            # aiokafka retries a commit until it finds a coordinator, and after a broker loss it can keep
            # asking a dead one; the caller rebuilds the client instead (what is not committed is re-read).
            raise KafkaTimeoutError(f"offset commit took over {COMMIT_TIMEOUT_S:.0f} s") from exc
        except CommitFailedError as exc:
            # The group moved on; the new owner re-reads these and the inbox makes them no-ops.
            log.warning(
                "offset commit rejected after rebalance", extra={"group": self.group, "error": str(exc)}
            )
        else:
            self.log_watch.committed_offsets(offsets)
            for tp in offsets:
                if self._done.get(tp) == offsets[tp]:
                    del self._done[tp]

    async def _handle_with_retries(
        self, record: ConsumerRecord[bytes, bytes], event: CloudEvent, payload: Payload, handler: Handler
    ) -> bool:
        """Bounded retries for failing handlers; unbounded waiting while the database is unreachable."""
        failures = 0
        outage = 0
        while not self._stopping.is_set():
            started = time.perf_counter()
            try:
                outcome = await self.handle_once(record, event, payload, handler)
            except TRANSIENT_DB_ERRORS as exc:  # the event is not at fault: wait for the database
                # The event is fine, the database is not: wait for it rather than dead-letter good data.
                outage += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "database unavailable, will retry", extra={"group": self.group, "error": self.last_error}
                )
                await self._sleep(min(self.backoff(outage), 5.0))
            except Exception as exc:  # a handler may fail in any way: bounded retries, then dead-letter
                failures += 1
                log.warning(
                    "handler failed",
                    extra={
                        "group": self.group,
                        "type": event.type,
                        "event_id": str(event.id),
                        "attempt": failures,
                    },
                    exc_info=True,
                )
                if failures >= self.kafka.max_handler_attempts:
                    await self._dead_letter(record, exc, attempts=failures)
                    return True
                await self._sleep(self.backoff(failures))
            else:
                HANDLER_LATENCY.labels(self.service, event.type).observe(time.perf_counter() - started)
                EVENTS_CONSUMED.labels(self.service, event.type, outcome).inc()
                return True
        return False

    async def handle_once(
        self, record: ConsumerRecord[bytes, bytes], event: CloudEvent, payload: Payload, handler: Handler
    ) -> str:
        """Run the handler and the inbox insert in one transaction; 'duplicate' if seen before."""
        async with self.db.session() as session:
            try:
                async with session.begin():
                    connection = await session.connection()
                    if (await connection.execute(self._seen_among([event.id]))).first() is not None:
                        return "duplicate"
                    # First, so that a concurrent instance handling the same event waits on this row.
                    await connection.execute(INBOX_TABLE.insert(), self._inbox_row(record, event))
                    await handler(payload, event=event, session=session)
            except sa.exc.IntegrityError:
                # Another instance handled the same event concurrently (inbox primary key).
                if await self._seen(event.id):
                    return "duplicate"
                raise
        return "handled"

    async def handle_batch(self, run: list[Delivery]) -> list[str]:
        """Run several handlers and their inbox inserts in one transaction; each outcome as in handle_once.

        Each handler starts from an empty identity map (everything before it is flushed and
        expunged), so it sees the rows the earlier ones wrote exactly as if they had committed.
        """
        async with self.db.session() as session, session.begin():
            connection = await session.connection()
            seen = set((await connection.execute(self._seen_among([d.event.id for d in run]))).scalars())
            outcomes: list[str] = []
            fresh: list[Delivery] = []
            for delivery in run:
                duplicate = delivery.event.id in seen
                outcomes.append("duplicate" if duplicate else "handled")
                if not duplicate:
                    seen.add(delivery.event.id)
                    fresh.append(delivery)
            if fresh:
                await connection.execute(
                    INBOX_TABLE.insert(), [self._inbox_row(d.record, d.event) for d in fresh]
                )
            for delivery in fresh:
                event = delivery.event
                token = bind_correlation_id(event.correlationid)
                started = time.perf_counter()
                try:
                    with consume_span(delivery.record.topic, event, group=self.group):
                        await delivery.handler(delivery.payload, event=event, session=session)
                        await session.flush()
                finally:
                    reset_correlation_id(token)
                session.expunge_all()
                HANDLER_LATENCY.labels(self.service, event.type).observe(time.perf_counter() - started)
        return outcomes

    def _seen_among(self, event_ids: list[UUID]) -> sa.Select[UUID]:
        return sa.select(INBOX_TABLE.c.event_id).where(
            INBOX_TABLE.c.consumer == self.group, INBOX_TABLE.c.event_id.in_(event_ids)
        )

    def _inbox_row(self, record: ConsumerRecord[bytes, bytes], event: CloudEvent) -> dict[str, Any]:
        """An inbox row as Core values (an ORM object's flush costs several times more, see bench)."""
        return {
            "consumer": self.group,
            "event_id": event.id,
            "event_type": event.type,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "handled_at": utcnow(),
        }

    async def _seen(self, event_id: UUID) -> bool:
        async with self.db.session() as session:
            return await session.get(InboxRecord, (self.group, event_id)) is not None

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: BaseException, *, attempts: int
    ) -> None:
        """Store, then publish the original bytes with origin and error; block until the topic has it."""
        assert self._dlq is not None
        described = describe_error(error)
        await store_dead_letter(
            self.db, letter_for(record, consumer=self.group, error=described, attempts=attempts)
        )
        headers = [
            ("vidnova-dlq-origin-topic", record.topic.encode()),
            ("vidnova-dlq-origin-partition", str(record.partition).encode()),
            ("vidnova-dlq-origin-offset", str(record.offset).encode()),
            ("vidnova-dlq-group", self.group.encode()),
            ("vidnova-dlq-error", described.encode()),
            ("vidnova-dlq-attempts", str(attempts).encode()),
        ]
        await self._dlq.send_and_wait(
            record.topic + DLQ_SUFFIX, record.value or b"", key=record.key, headers=headers
        )
        EVENTS_DEAD_LETTERED.labels(self.service, record.topic).inc()
        log.error(
            "message dead-lettered",
            extra={
                "group": self.group,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "error": described[:500],
            },
        )

    async def replay(self, letter: DeadLetter) -> str:
        """Handle a dead letter again on the consumer's own path: 'handled', or 'duplicate' if it was."""
        event, payload = decode_event(letter.value)
        handler = self.handlers.get(event.type)
        if handler is None:
            raise UnknownEventType(f"{self.group} has no handler for {event.type}")
        token = bind_correlation_id(event.correlationid)
        try:
            return await self.handle_once(record_of(letter), event, payload, handler)
        finally:
            reset_correlation_id(token)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            async with self._processing:
                try:
                    await self._commit(set(self._done), consumer, guarded=True)
                except CLIENT_FAILURES as exc:
                    # Uncommitted offsets are re-read later; the inbox makes them no-ops.
                    log.warning("final offset commit failed", extra={"group": self.group, "error": str(exc)})
                # Positions belong to this membership: a new one (perhaps on a broker that lost its
                # data) starts from the group's committed offsets, never from what this one handled.
                self._done.clear()
            await _stop_client(consumer, self.group)
        dlq, self._dlq = self._dlq, None
        if dlq is not None:
            await _stop_client(dlq, self.group)
        self.joined.clear()


async def _stop_client(client: AIOKafkaConsumer | AIOKafkaProducer, group: str) -> None:
    """Stop a client that may be broken (that is often why it is being stopped)."""
    try:
        await client.stop()
    except CLIENT_FAILURES as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.info("kafka client stopped with an error", extra={"group": group, "error": error})
