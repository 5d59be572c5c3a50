"""Idempotent consumer: the poll loop (partition runs, retries, offset commits, rebalances).

Each event is handled in the transaction that records it as processed (``shared.processed_events``);
offsets are committed afterwards. The events of one partition that arrive together are handled in one
transaction (up to ``CONSUMER_BATCH_SIZE``): one commit instead of one per event is most of the cost
saved under load. If anything in that transaction fails, it rolls back whole and the same events are
handled one at a time, each in its own transaction with bounded retries and dead-lettering
(``shared.dead_lettering``), so a poison event costs only the batching, never a neighbour's effect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaTimeoutError

from shared import processed_events
from shared.db import TRANSIENT_DB_ERRORS, Database
from shared.dead_lettering import DeadLettering, replay
from shared.dead_letters import DeadLetter
from shared.events.envelope import CloudEvent, decode_event
from shared.events.payloads import Payload
from shared.events.registry import MalformedEvent, UnknownEventType, event_type_for
from shared.kafka import CLIENT_FAILURES, make_consumer, start_client, stop_client
from shared.log_reset import LogWatch
from shared.observability import EVENTS_CONSUMED, HANDLER_LATENCY, bind_correlation_id, reset_correlation_id
from shared.processed_events import BatchHandler, ConsumedEvent, Handler
from shared.settings import KafkaSettings
from shared.stopping import wait_or_stop
from shared.tracing import consume_span

__all__ = ["BatchHandler", "Handler", "IdempotentConsumer", "Subscription"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subscription:
    """What one consumer group reads and which handler serves each payload type.

    ``batch_handlers`` optionally serve consecutive events of a batch together (``handle_batch``); a
    retried, replayed or lone event always goes to its ``handlers`` entry.
    """

    group: str
    streams: tuple[str, ...]
    handlers: Mapping[type[Payload], Handler]
    batch_handlers: Mapping[type[Payload], BatchHandler] = field(default_factory=dict)


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
        self.batch_handlers = {event_type_for(t).ce_type: h for t, h in subscription.batch_handlers.items()}
        self.backoff = backoff or (lambda attempt: kafka.retry_backoff_ms / 1000 * 2 ** (attempt - 1))
        self.joined = asyncio.Event()
        self.last_error: str | None = None
        self.instance_id = instance_id
        self.log_watch = LogWatch(
            service=service, group=self.group, interval_s=kafka.log_check_interval_ms / 1000
        )
        self._consumer: AIOKafkaConsumer | None = None
        self._dead_letters = DeadLettering(db=db, kafka=kafka, group=self.group, service=service)
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
                await wait_or_stop(self._stopping, backoff)
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
            self._consumer = await start_client(consumer)
        await self._dead_letters.start()

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
        run: list[ConsumedEvent] = []
        for record in records:
            if not self._owns(tp):
                return  # what is not marked done is re-read by the partition's next owner
            triaged = self._triage(record)
            if isinstance(triaged, ConsumedEvent):
                run.append(triaged)
                if len(run) < self.kafka.batch_size:
                    continue
            if run:  # the records before this one come first
                handled, run = await self._handle_run(tp, run), []
                if not handled:
                    return
            if isinstance(triaged, Exception):
                await self._dead_letters.give_up(record, triaged, attempts=0)
            if not isinstance(triaged, ConsumedEvent):
                self._done[tp] = record.offset + 1
        if run:
            await self._handle_run(tp, run)

    def _count(self, event_type: str, outcome: str) -> None:
        """One event handled (or ignored) by this group, for ``vidnova_events_consumed_total``."""
        EVENTS_CONSUMED.labels(self.service, self.subscription.group, event_type, outcome).inc()

    def _owns(self, tp: TopicPartition) -> bool:
        return (
            not self._stopping.is_set() and self._consumer is not None and tp in self._consumer.assignment()
        )

    def _triage(self, record: ConsumerRecord[bytes, bytes]) -> ConsumedEvent | Exception | None:
        """An event to handle, why a record is poison (malformed, unknown type), or None if ignored."""
        try:
            event, payload = decode_event(record.value)
        except (MalformedEvent, UnknownEventType) as exc:
            return exc
        handler = self.handlers.get(event.type)
        if handler is None:
            self._count(event.type, "ignored")
            return None
        return ConsumedEvent(record, event, payload, handler, self.batch_handlers.get(event.type))

    async def _handle_run(self, tp: TopicPartition, run: list[ConsumedEvent]) -> bool:
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
                for consumed, outcome in zip(run, outcomes, strict=True):
                    self._count(consumed.event.type, outcome)
                self._done[tp] = run[-1].record.offset + 1
                return True
        for consumed in run:
            if not self._owns(tp):
                return False
            token = bind_correlation_id(consumed.event.correlationid)
            try:
                with consume_span(consumed.record.topic, consumed.event, group=self.group):
                    handled = await self._handle_with_retries(
                        consumed.record, consumed.event, consumed.payload, consumed.handler
                    )
            finally:
                reset_correlation_id(token)
            if not handled:
                return False  # stopping while infrastructure was down: leave it uncommitted
            self._done[tp] = consumed.record.offset + 1
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
            # The group moved on; the new owner re-reads these and processed_events makes them no-ops.
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
                await wait_or_stop(self._stopping, min(self.backoff(outage), 5.0))
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
                    await self._dead_letters.give_up(record, exc, attempts=failures)
                    return True
                await wait_or_stop(self._stopping, self.backoff(failures))
            else:
                HANDLER_LATENCY.labels(self.service, event.type).observe(time.perf_counter() - started)
                self._count(event.type, outcome)
                return True
        return False

    async def handle_once(
        self, record: ConsumerRecord[bytes, bytes], event: CloudEvent, payload: Payload, handler: Handler
    ) -> str:
        """Run the handler and record the event as processed, in one transaction; 'duplicate' if seen."""
        return await processed_events.handle_once(
            self.db, group=self.group, record=record, event=event, payload=payload, handler=handler
        )

    async def handle_batch(self, run: list[ConsumedEvent]) -> list[str]:
        """Run several handlers and record their events, in one transaction; outcomes as in handle_once."""
        return await processed_events.handle_batch(self.db, group=self.group, service=self.service, run=run)

    async def replay(self, letter: DeadLetter) -> str:
        """Handle a dead letter again on this consumer's path: 'handled', or 'duplicate' if it was."""
        return await replay(letter, group=self.group, handlers=self.handlers, handle_once=self.handle_once)

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            async with self._processing:
                try:
                    await self._commit(set(self._done), consumer, guarded=True)
                except CLIENT_FAILURES as exc:
                    # Uncommitted offsets are re-read later; processed_events makes them no-ops.
                    log.warning("final offset commit failed", extra={"group": self.group, "error": str(exc)})
                # Positions belong to this membership: a new one (perhaps on a broker that lost its
                # data) starts from the group's committed offsets, never from what this one handled.
                self._done.clear()
            await stop_client(consumer, group=self.group)
        await self._dead_letters.close()
        self.joined.clear()
