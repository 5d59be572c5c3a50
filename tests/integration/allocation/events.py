"""Publishing request events straight to a stack's broker, for stacks without the requests service."""

from __future__ import annotations

from shared.events.envelope import new_event
from shared.events.payloads import Payload
from shared.kafka import make_producer
from tests.support.stack import ServiceStack


async def publish(stack: ServiceStack, *payloads: Payload) -> None:
    """Send ``request.*`` events as the requests service's relay would (keyed by request id)."""
    kafka = stack.kafka_settings()
    producer = make_producer(kafka)
    await producer.start()
    try:
        for payload in payloads:
            event = new_event(payload, source="requests")
            await producer.send_and_wait(kafka.topic("requests"), event.encode(), key=event.key)
    finally:
        await producer.stop()
