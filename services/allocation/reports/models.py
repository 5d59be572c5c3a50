"""Projection tables of the reports: one row per request, allocation and lot, never pruned.

Every column but the key is nullable: events may arrive in any order, so a row can exist before the
event that fills a given column. No personal field (contact names, phones, e-mails) is stored.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from shared.db import UTCDateTime

MONEY = sa.Numeric(18, 4)


def _at(*, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=index))


class ReportRequest(SQLModel, table=True):
    """A request as the reports know it: where, what, how many, and when it changed."""

    __tablename__ = "report_requests"

    request_id: UUID = Field(primary_key=True)
    ref: str | None = Field(default=None, max_length=32)
    region: str | None = Field(default=None, max_length=8, index=True)
    category: str | None = Field(default=None, max_length=40, index=True)
    settlement: str | None = Field(default=None, max_length=200)
    facility_name: str | None = Field(default=None, max_length=200)
    facility_kind: str | None = Field(default=None, max_length=32)
    quantity: int | None = None
    submitted_at: datetime | None = _at(index=True)
    # Latest by event time (ties: the greater value), so any order of events leaves the same value.
    priority: str | None = Field(default=None, max_length=10)
    priority_at: datetime | None = _at()
    status: str | None = Field(default=None, max_length=24)
    status_at: datetime | None = _at()
    waitlisted_at: datetime | None = _at()  # the latest request.waitlisted
    ended_as: str | None = Field(default=None, max_length=10)  # cancelled | closed
    ended_at: datetime | None = _at()


class ReportAllocation(SQLModel, table=True):
    """An allocation with the time of each stage it reached (the lot names its programme)."""

    __tablename__ = "report_allocations"

    allocation_id: UUID = Field(primary_key=True)
    request_id: UUID | None = Field(default=None, index=True)
    lot_id: UUID | None = Field(default=None, index=True)
    donor_id: str | None = Field(default=None, max_length=64, index=True)
    region: str | None = Field(default=None, max_length=8)
    category: str | None = Field(default=None, max_length=40)
    settlement: str | None = Field(default=None, max_length=200)
    facility_name: str | None = Field(default=None, max_length=200)
    quantity: int | None = None
    proposed_at: datetime | None = _at()
    expires_at: datetime | None = _at()
    approved_at: datetime | None = _at()
    rejected_at: datetime | None = _at()
    expired_at: datetime | None = _at()
    released_at: datetime | None = _at()
    dispatched_at: datetime | None = _at()
    delivered_at: datetime | None = _at()
    received_quantity: int | None = None
    rejected_quantity: int | None = None


class ReportLot(SQLModel, table=True):
    """A donor's lot: where it is, what it is worth, its latest quantity and when it last changed."""

    __tablename__ = "report_lots"

    lot_id: UUID = Field(primary_key=True)
    donor_id: str | None = Field(default=None, max_length=64, index=True)
    programme_id: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=40)
    region: str | None = Field(default=None, max_length=8)
    site: str | None = Field(default=None, max_length=200)
    quantity: int | None = None
    quantity_at: datetime | None = _at()
    unit_value: Decimal | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    currency: str | None = Field(default=None, max_length=3)
    registered_at: datetime | None = _at()
    withdrawn_at: datetime | None = _at()
    changed_at: datetime | None = _at()
