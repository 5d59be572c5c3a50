"""The requests service's HTTP bodies (input validation and public shapes)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from pydantic import (
    BaseModel,
    EmailStr,
    Field,
    field_validator,
)

from shared.events.payloads import FacilityKind, Priority, RequestStatus
from shared.fields import CATEGORY_ENUM, IsoDate, RegionCode, Strict, Text
from shared.problems import problem_responses

NonBlank = Field(min_length=1, max_length=200)


class FacilityIn(Strict):
    name: Text = NonBlank
    kind: FacilityKind


class ContactIn(Strict):
    name: Text = NonBlank
    phone: str | None = Field(default=None, min_length=3, max_length=40, pattern=r"^\+?[0-9 ()\-]{3,40}$")
    email: EmailStr | None = None


class RequestCreate(Strict):
    """Body of ``POST /v1/requests``."""

    region: RegionCode
    settlement: Text = NonBlank
    facility: FacilityIn
    category: str = Field(
        min_length=1, max_length=40, examples=["generator"], json_schema_extra=CATEGORY_ENUM
    )
    specs: dict[str, Any] = Field(default_factory=dict, examples=[{"power_kw": 100, "fuel": ["diesel"]}])
    quantity: int = Field(ge=1, le=1000, strict=True)
    priority: Priority = "medium"
    needed_by: IsoDate
    justification: Text = Field(min_length=1, max_length=4000)
    contact: ContactIn

    @field_validator("needed_by")
    @classmethod
    def _not_past(cls, value: date) -> date:
        if value < datetime.now(UTC).date():
            raise ValueError(f"{value.isoformat()} is in the past")
        return value


class CancelIn(Strict):
    """Body of ``POST /v1/requests/{id}/cancel``."""

    reason: Text = Field(min_length=1, max_length=1000)


class RequestPatch(Strict):
    """Body of ``PATCH /v1/requests/{id}``: coordinators re-prioritise a request."""

    priority: Priority


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


class CancellationOut(BaseModel):
    at: datetime
    by: str
    reason: str


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
    cancellation: CancellationOut | None = None
    timeline: list[TimelineEntryOut] | None = None


class RequestPage(BaseModel):
    items: list[RequestOut]
    next_cursor: str | None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem details, worded for requests."""
    return problem_responses(
        *statuses,
        described={
            404: "No such request visible to the caller",
            409: "Conflicts with the request's current state or an earlier use of the Idempotency-Key",
        },
    )
