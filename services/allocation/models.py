"""Tables of the allocation service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlmodel import JSON, Column, Field, SQLModel

from shared.db import UTCDateTime


class Demand(SQLModel, table=True):
    """A request as the allocation service knows it, from ``request.*`` events."""

    __tablename__ = "demands"

    request_id: UUID = Field(primary_key=True)
    ref: str = Field(max_length=32)
    region: str = Field(max_length=8, index=True)
    settlement: str = Field(max_length=200)
    facility_name: str = Field(max_length=200)
    facility_kind: str = Field(max_length=32)
    category: str = Field(max_length=40, index=True)
    specs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    quantity: int
    priority: str = Field(max_length=10)
    needed_by: date
    submitted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    open: bool = Field(default=True, index=True)
