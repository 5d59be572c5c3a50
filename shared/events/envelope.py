"""CloudEvents 1.0 envelope (JSON structured mode) and its encoding."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.actor import current_actor, system_actor
from shared.events.payloads import Payload
from shared.events.registry import MalformedEvent, event_type_of, lookup
from shared.observability import current_correlation_id
from shared.tracing import continuing


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope with Vidnova's correlation extensions."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: UUID = Field(default_factory=uuid4)
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    correlationid: str
    causationid: str | None = None
    actor: str | None = Field(
        default=None,
        description="Who made the change: the token's `sub`, or `system:<job>` (SPEC §14.7)."
        " Absent on events written before it existed; readers accept both.",
    )
    # CloudEvents distributed-tracing extension: the W3C trace context of the span that staged it.
    traceparent: str | None = Field(None, max_length=55)

    @property
    def key(self) -> bytes:
        """The Kafka partition key (the aggregate the event belongs to)."""
        return self.subject.encode()

    def payload(self) -> Payload:
        """The typed payload; raises MalformedEvent if ``data`` does not fit the type."""
        model = lookup(self.type).payload
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise MalformedEvent(f"{self.type}: {exc}") from exc

    def encode(self) -> bytes:
        """JSON bytes as written to Kafka."""
        return self.model_dump_json().encode()


def new_event(
    payload: Payload, *, source: str, caused_by: CloudEvent | None = None, actor: str | None = None
) -> CloudEvent:
    """Wrap a payload in an envelope, carrying correlation from the cause or the current request.

    The actor is ``actor`` if given, else the one bound to the request or job, else ``system:<source>``.
    """
    event_type = event_type_of(payload)
    correlation = caused_by.correlationid if caused_by else current_correlation_id()
    return CloudEvent(
        source=f"/vidnova/{source}",
        type=event_type.ce_type,
        subject=str(getattr(payload, event_type.key_field)),
        time=datetime.now(UTC),
        data=payload.model_dump(mode="json"),
        correlationid=correlation or str(uuid4()),
        causationid=str(caused_by.id) if caused_by else None,
        actor=actor or current_actor() or system_actor(source),
        traceparent=continuing(caused_by.traceparent if caused_by else None),
    )


def decode_event(raw: bytes | None) -> tuple[CloudEvent, Payload]:
    """Parse bytes from Kafka into envelope and typed payload; MalformedEvent / UnknownEventType."""
    if raw is None:
        raise MalformedEvent("empty message (tombstone)")
    try:
        envelope = CloudEvent.model_validate_json(raw)
    except ValidationError as exc:
        raise MalformedEvent(f"not a CloudEvents envelope: {exc.errors(include_url=False)[:3]}") from exc
    return envelope, envelope.payload()
