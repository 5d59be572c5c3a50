"""The requests service's HTTP bodies (input validation and public shapes)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shared.events.payloads import FacilityKind, Priority, RequestStatus
from shared.geography import get_region

NonBlank = Field(min_length=1, max_length=200)


class Strict(BaseModel):
    """Input models reject unknown fields so that typos are reported, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FacilityIn(Strict):
    name: str = NonBlank
    kind: FacilityKind


class ContactIn(Strict):
    name: str = NonBlank
    phone: str | None = Field(default=None, min_length=3, max_length=40, pattern=r"^\+?[0-9 ()\-]{3,40}$")
    email: EmailStr | None = None


class RequestCreate(Strict):
    """Body of ``POST /v1/requests``."""

    region: str = Field(min_length=4, max_length=8, examples=["UA-63"])
    settlement: str = NonBlank
    facility: FacilityIn
    category: str = Field(min_length=1, max_length=40, examples=["generator"])
    specs: dict[str, Any] = Field(default_factory=dict, examples=[{"power_kw": 100, "fuel": ["diesel"]}])
    quantity: int = Field(ge=1, le=1000)
    priority: Priority = "medium"
    needed_by: date
    justification: str = Field(min_length=1, max_length=4000)
    contact: ContactIn

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if get_region(value) is None:
            raise ValueError(f"unknown region {value!r}; use an ISO 3166-2:UA code such as 'UA-63'")
        return value


class QuantitiesOut(BaseModel):
    requested: int
    proposed: int
    approved: int
    dispatched: int
    delivered: int
    waitlisted: int


class TimelineEntryOut(BaseModel):
    event_id: UUID
    type: str
    at: datetime
    summary: str
    data: dict[str, Any]


class FacilityOut(BaseModel):
    name: str
    kind: str


class RequestOut(BaseModel):
    """A request as its readers see it."""

    id: UUID
    ref: str
    region: str
    settlement: str
    facility: FacilityOut
    category: str
    specs: dict[str, Any]
    quantity: int
    priority: Priority
    needed_by: date
    justification: str
    contact: dict[str, Any]
    created_by: str
    created_at: datetime
    status: RequestStatus
    quantities: QuantitiesOut
    timeline: list[TimelineEntryOut] | None = None


class RequestPage(BaseModel):
    items: list[RequestOut]
    next_cursor: str | None


SortOrder = Literal["asc", "desc"]
