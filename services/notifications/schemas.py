"""The notifications service's HTTP bodies (input validation and public shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from services.notifications.rendering import Locale
from services.notifications.webhooks import TargetRefused, parse_target
from shared.problems import problem_responses

ChannelName = Literal["email", "webhook"]


class NotificationOut(BaseModel):
    """An inbox item in the language the caller prefers (``Accept-Language``)."""

    id: UUID
    seq: int
    audience: str
    type: str
    source_event_id: UUID
    subject_id: str
    locale: Locale
    title: str
    body: str
    created_at: datetime
    read: bool


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class SubscriptionCreate(BaseModel):
    """Body of ``POST /v1/subscriptions``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: ChannelName
    target: str = Field(
        min_length=3, max_length=2048, examples=["ops@example.org", "https://example.org/hooks/vidnova"]
    )
    event_types: list[str] | None = Field(
        default=None, max_length=50, examples=[["allocation.proposed", "allocation.delivered"]]
    )
    locale: Locale = "en"

    @field_validator("target")
    @classmethod
    def _target_fits_channel(cls, value: str, info: ValidationInfo) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("control characters are not allowed")
        channel = info.data.get("channel")
        if channel == "email":
            try:
                return str(validate_email(value, check_deliverability=False).normalized)
            except EmailNotValidError as exc:
                raise ValueError(f"not an e-mail address: {exc}") from exc
        if channel == "webhook":
            try:
                parse_target(value)
            except TargetRefused as exc:
                raise ValueError(str(exc)) from exc
        return value

    @field_validator("event_types")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return list(dict.fromkeys(value)) if value is not None else None


class SubscriptionOut(BaseModel):
    id: UUID
    channel: ChannelName
    target: str
    event_types: list[str] | None
    locale: Locale
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    """The creation answer: the only time a webhook's signing secret is shown."""

    secret: str | None = Field(
        default=None, description="Webhook signing key (HMAC-SHA256); shown once, store it now"
    )


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    finished_at: datetime
    duration_ms: float
    outcome: Literal["delivered", "retry", "failed"]
    error: str | None
    response_status: int | None


class DeliveryOut(BaseModel):
    """One notice to one recipient over one channel, with every attempt."""

    id: UUID
    channel: Literal["inbox", "email", "webhook"]
    recipient: str
    target: str
    subscription_id: UUID | None
    source_event_id: UUID
    source_event_type: str
    subject_id: str
    locale: Locale
    title: str
    status: Literal["pending", "delivered", "failed", "cancelled"]
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    attempts: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem details, worded for notifications."""
    return problem_responses(
        *statuses,
        described={409: "An active subscription of yours already has this channel and target"},
    )


class StreamTicketOut(BaseModel):
    """A single-use ticket for ``GET /v1/notifications/stream?ticket=…``."""

    ticket: str
    expires_at: datetime
