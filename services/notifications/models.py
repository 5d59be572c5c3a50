"""Tables of the notifications service."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from shared.db import UTCDateTime, utcnow
from shared.retention import Prunable
from shared.settings import RetentionSettings

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# What a committed transaction announces (``shared.db.announce``): streams and the delivery worker wake.
INBOX_WRITTEN = "notifications.inbox_written"
JOBS_QUEUED = "notifications.jobs_queued"


class Notification(SQLModel, table=True):
    """An in-app inbox item for one audience, in English and Ukrainian; one per (event, audience)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("source_event_id", "audience", name="uq_notification_event_audience"),
        sa.UniqueConstraint("audience", "seq", name="uq_notification_audience_seq"),
        sa.Index("ix_notifications_inbox", "audience", "created_at"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    audience: str = Field(max_length=120)  # "coordinators", "region:UA-63" or "donor:<donor_id>"
    # Position in the audience's inbox, issued in commit order: the SSE event id and the list cursor.
    seq: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    source_event_id: UUID
    source_event_type: str = Field(max_length=120)
    subject_id: str = Field(max_length=64)
    template: str = Field(max_length=80)
    title: str = Field(max_length=300)
    body: str = Field(sa_column=Column(sa.Text(), nullable=False))
    title_uk: str = Field(max_length=300)
    body_uk: str = Field(sa_column=Column(sa.Text(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class InboxSequence(SQLModel, table=True):
    """The last inbox position issued per audience; its row lock orders concurrent writers."""

    __tablename__ = "inbox_sequences"

    audience: str = Field(primary_key=True, max_length=120)
    last_seq: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))


class NotificationRead(SQLModel, table=True):
    """One reader has read one inbox item (a shared inbox, read marks per person)."""

    __tablename__ = "notification_reads"

    notification_id: UUID = Field(foreign_key="notifications.id", primary_key=True)
    reader: str = Field(primary_key=True, max_length=200)  # the token's `sub`
    read_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Subscription(SQLModel, table=True):
    """An e-mail address or webhook URL that receives its owner's notices."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        sa.Index(
            "uq_subscription_owner_target",
            "owner",
            "channel",
            "target",
            unique=True,
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        ),
        sa.Index("ix_subscriptions_audience", "audience"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    owner: str = Field(max_length=200)  # the token's `sub`
    audience: str = Field(max_length=120)
    channel: str = Field(max_length=16)  # email | webhook
    target: str = Field(max_length=2048)
    event_types: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    locale: str = Field(max_length=8)
    # Webhook signing key; None when derived from WEBHOOK_SIGNING_SECRET (then nothing secret is stored).
    secret: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class Delivery(SQLModel, table=True):
    """One notice to one recipient over one channel: a job until it is delivered or has failed."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("source_event_id", "recipient", "channel", name="uq_delivery_event_recipient"),
        sa.Index(
            "ix_deliveries_due",
            "next_attempt_at",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_deliveries_listing", "created_at", "id"),
        sa.Index("ix_deliveries_subject", "subject_id"),
        sa.Index("ix_deliveries_finished_at", "finished_at"),  # retention prunes by it
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    source_event_id: UUID
    source_event_type: str = Field(max_length=120)
    subject_id: str = Field(max_length=64)
    correlation_id: str = Field(max_length=128)
    recipient: str = Field(max_length=120)  # the audience (inbox) or "subscription:<id>"
    channel: str = Field(max_length=16)  # inbox | email | webhook
    subscription_id: UUID | None = Field(default=None, foreign_key="subscriptions.id")
    target: str = Field(max_length=2048)
    locale: str = Field(max_length=8)
    title: str = Field(max_length=300)
    body: str = Field(sa_column=Column(sa.Text(), nullable=False))
    # The event's data, for webhooks and for e-mails with a file (attachments.kept_data).
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: str = Field(default="pending", max_length=16)  # pending | delivered | failed | cancelled
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    leased_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    claim_token: UUID | None = None
    last_error: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class DeliveryAttempt(SQLModel, table=True):
    """One try at a delivery: when, how long, and what happened."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (sa.UniqueConstraint("delivery_id", "number", name="uq_attempt_number"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    delivery_id: UUID = Field(foreign_key="deliveries.id")
    number: int
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    duration_ms: float
    outcome: str = Field(max_length=16)  # delivered | retry | failed
    error: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))
    response_status: int | None = None


class StreamTicket(SQLModel, table=True):
    """A single-use, short-lived ticket that lets a browser's EventSource open a stream (no token in URLs)."""

    __tablename__ = "stream_tickets"
    __table_args__ = (sa.Index("ix_stream_tickets_expires", "expires_at"),)

    ticket_hash: str = Field(primary_key=True, max_length=64)  # SHA-256 hex: the ticket is never stored
    sub: str = Field(max_length=200)
    role: str = Field(max_length=32)
    region: str | None = Field(default=None, max_length=16)
    donor_id: str | None = Field(default=None, max_length=64)
    token_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


DELIVERIES_TABLE: sa.Table = Delivery.__table__  # type: ignore[attr-defined]
DELIVERY_ATTEMPTS_TABLE: sa.Table = DeliveryAttempt.__table__  # type: ignore[attr-defined]
FINISHED_DELIVERY_STATUSES = ("delivered", "failed", "cancelled")


def finished_deliveries(settings: RetentionSettings) -> Prunable:
    """Deliveries that ended (never a pending one) ``RETENTION_DELIVERIES_DAYS`` ago, with their attempts."""
    return Prunable(
        name="deliveries",
        table=DELIVERIES_TABLE,
        key=("id",),
        age="finished_at",
        finished=sa.and_(
            DELIVERIES_TABLE.c.status.in_(FINISHED_DELIVERY_STATUSES),
            DELIVERIES_TABLE.c.finished_at.is_not(None),
        ),
        keep=timedelta(days=settings.deliveries_days),
        dependents=((DELIVERY_ATTEMPTS_TABLE, "delivery_id"),),
    )
