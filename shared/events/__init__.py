"""The event contract shared by every service: CloudEvents envelope, typed payloads, registry."""

from shared.events.envelope import CloudEvent, decode_event, new_event
from shared.events.registry import EVENT_TYPES, EventType, MalformedEvent, UnknownEventType, event_type_of

__all__ = [
    "EVENT_TYPES",
    "CloudEvent",
    "EventType",
    "MalformedEvent",
    "UnknownEventType",
    "decode_event",
    "event_type_of",
    "new_event",
]
