"""Tables of the requests service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from shared.db import UTCDateTime, utcnow
from shared.idempotency import IdempotencyRecord  # noqa: F401  (this service keeps idempotency keys)


class Request(SQLModel, table=True):
    """A region's request for equipment, with the quantities the read model keeps current."""

    __tablename__ = "requests"
    __table_args__ = (sa.Index("ix_requests_listing", "created_at", "id"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    ref: str = Field(max_length=32, unique=True)
    region: str = Field(max_length=8, index=True)
    settlement: str = Field(max_length=200)
    facility_name: str = Field(max_length=200)
    facility_kind: str = Field(max_length=32)
    category: str = Field(max_length=40, index=True)
    specs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    quantity: int
    priority: str = Field(max_length=10)
    needed_by: date
    justification: str = Field(sa_column=Column(sa.Text(), nullable=False))
    contact: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default="submitted", max_length=24, index=True)
    proposed: int = 0
    approved: int = 0
    dispatched: int = 0
    delivered: int = 0
    waitlisted: int = 0
    # The allocation service's newest "cannot serve now" snapshot and its event time (newest wins).
    waitlisted_reported: int = 0
    waitlisted_reported_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    cancelled_by: str | None = Field(default=None, max_length=255)
    cancel_reason: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))
    # Ref, settlement and facility name case-folded in Python: the same search on SQLite and PostgreSQL,
    # whose lower() differ on Cyrillic.
    search_text: str = Field(default="", sa_column=Column(sa.Text(), nullable=False, server_default=""))


class TimelineEntry(SQLModel, table=True):
    """One event that touched a request; unique per (request, event)."""

    __tablename__ = "request_timeline"
    __table_args__ = (sa.UniqueConstraint("request_id", "event_id", name="uq_timeline_event"),)

    id: int | None = Field(
        default=None, sa_column=Column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    )
    request_id: UUID = Field(foreign_key="requests.id", index=True)
    event_id: UUID
    event_type: str = Field(max_length=120)
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    summary: str = Field(sa_column=Column(sa.Text(), nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class RequestAllocation(SQLModel, table=True):
    """The furthest known stage of one allocation serving a request (the read model's unit of truth)."""

    __tablename__ = "request_allocations"

    allocation_id: UUID = Field(primary_key=True)
    request_id: UUID = Field(foreign_key="requests.id", index=True)
    lot_id: UUID
    donor_id: str = Field(max_length=200)
    quantity: int
    stage: str = Field(max_length=16)
    received: int = 0
    rejected: int = 0
    stage_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class RefCounter(SQLModel, table=True):
    """Last tracking number issued per region and year."""

    __tablename__ = "ref_counters"

    region: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True)
    last: int = 0
