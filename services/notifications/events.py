"""The notifications service's events: its ``SOURCE`` and the builders of the payloads it publishes."""

from __future__ import annotations

from typing import Any

from services.notifications.models import Delivery
from shared.actor import system_actor
from shared.events.envelope import CloudEvent, new_event
from shared.events.payloads import NotificationDelivered, NotificationFailed

SOURCE = "notifications"
ACTOR = system_actor(SOURCE)


def delivery_outcome(delivery: Delivery, *, error: str | None) -> CloudEvent:
    """A finished e-mail or webhook delivery, correlated with and caused by the event it was about."""
    common: dict[str, Any] = {
        "notification_id": delivery.id,
        "source_event_id": delivery.source_event_id,
        "source_event_type": delivery.source_event_type,
        "recipient": delivery.recipient,
        "channel": delivery.channel,
        "attempts": delivery.attempts,
    }
    payload = (
        NotificationDelivered(**common)
        if delivery.status == "delivered"
        else NotificationFailed(**common, error=(error or "failed")[:2000])
    )
    return new_event(payload, source=SOURCE, actor=ACTOR).model_copy(
        update={"correlationid": delivery.correlation_id, "causationid": str(delivery.source_event_id)}
    )
