"""A consumer's dead-lettering (SPEC §15): give up on a record, and replay one on the consumer's path.

A record given up on is stored (``shared.dead_letters``) and published with its origin and error to
``<topic>.dlq`` by a producer of the consumer's own. A replay runs the record through the consumer's
handling, so one handled meanwhile is a no-op (the processed-events table).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from aiokafka import AIOKafkaProducer, ConsumerRecord

from shared.db import Database
from shared.dead_letters import DeadLetter, letter_for, record_of, store_dead_letter
from shared.events.envelope import CloudEvent, decode_event
from shared.events.payloads import Payload
from shared.events.registry import UnknownEventType
from shared.kafka import DLQ_SUFFIX, make_producer, start_client, stop_client
from shared.observability import EVENTS_DEAD_LETTERED, bind_correlation_id, reset_correlation_id
from shared.processed_events import Handler
from shared.redaction import describe_error
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)

HandleOnce = Callable[[ConsumerRecord[bytes, bytes], CloudEvent, Payload, Handler], Awaitable[str]]


class DeadLettering:
    """One consumer group's way to give up on a record: the store, then its dead-letter topic."""

    def __init__(self, *, db: Database, kafka: KafkaSettings, group: str, service: str) -> None:
        self.db = db
        self.kafka = kafka
        self.group = group
        self.service = service
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Start the dead-letter producer unless it runs already."""
        if self._producer is None:
            self._producer = await start_client(make_producer(self.kafka, client_id=f"{self.group}-dlq"))

    async def close(self) -> None:
        """Stop the dead-letter producer, which may be broken."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await stop_client(producer, group=self.group)

    async def give_up(
        self, record: ConsumerRecord[bytes, bytes], error: BaseException, *, attempts: int
    ) -> None:
        """Store, then publish the original bytes with origin and error; block until the topic has it."""
        assert self._producer is not None
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
        await self._producer.send_and_wait(
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


async def replay(
    letter: DeadLetter, *, group: str, handlers: Mapping[str, Handler], handle_once: HandleOnce
) -> str:
    """Handle a dead letter again on the consumer's own path: 'handled', or 'duplicate' if it was."""
    event, payload = decode_event(letter.value)
    handler = handlers.get(event.type)
    if handler is None:
        raise UnknownEventType(f"{group} has no handler for {event.type}")
    token = bind_correlation_id(event.correlationid)
    try:
        return await handle_once(record_of(letter), event, payload, handler)
    finally:
        reset_correlation_id(token)
