"""Tables of the notifications service."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from shared.db import UTCDateTime, utcnow


class Notification(SQLModel, table=True):
    """An in-app inbox item for one audience; at most one per (event, audience)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("source_event_id", "audience", name="uq_notification_event_audience"),
        sa.Index("ix_notifications_inbox", "audience", "created_at"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    audience: str = Field(max_length=120)  # "coordinators", "region:UA-63" or "donor:<donor_id>"
    source_event_id: UUID
    source_event_type: str = Field(max_length=120)
    subject_id: str = Field(max_length=64)
    title: str = Field(max_length=300)
    body: str = Field(sa_column=Column(sa.Text(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
