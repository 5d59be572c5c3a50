"""The requests service's HTTP bodies (input validation and public shapes)."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    JsonValue,
    field_validator,
)

from shared.catalog import all_categories
from shared.events.payloads import FacilityKind, Priority, RequestStatus
from shared.geography import all_regions, get_region
from shared.problems import problem_responses

# Newlines and tabs are text; other control characters (NUL above all, which PostgreSQL cannot store)
# and lone surrogates (which no UTF-8 encoder accepts) are not.
_ALLOWED_CONTROLS = frozenset("\n\r\t")


def _printable(value: str) -> str:
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs") and char not in _ALLOWED_CONTROLS:
            raise ValueError(f"must not contain the control character U+{ord(char):04X}")
    return value


def _iso_date_text(value: object) -> object:
    # JSON has no date type: only an ISO 8601 string is a date (pydantic alone would take 0 as 1970-01-01).
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date string, e.g. 2026-12-31")  # noqa: TRY004 (422, not 500)
    return value


def _iso_datetime_text(value: object) -> object:
    # pydantic reads a bare number such as "15" as a Unix timestamp; the API speaks ISO 8601 only.
    if not isinstance(value, str) or _NUMBER.fullmatch(value.strip()):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-11-23T10:00:00Z")
    return value


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
Text = Annotated[str, AfterValidator(_printable)]
IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime_text)]
NonBlank = Field(min_length=1, max_length=200)
REGION_CODES: list[JsonValue] = [region.code for region in all_regions()]
CATEGORY_NAMES: list[JsonValue] = [category.name for category in all_categories()]


class Strict(BaseModel):
    """Input models reject unknown fields so that typos are reported, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FacilityIn(Strict):
    name: Text = NonBlank
    kind: FacilityKind


class ContactIn(Strict):
    name: Text = NonBlank
    phone: str | None = Field(default=None, min_length=3, max_length=40, pattern=r"^\+?[0-9 ()\-]{3,40}$")
    email: EmailStr | None = None


class RequestCreate(Strict):
    """Body of ``POST /v1/requests``."""

    region: str = Field(
        min_length=4, max_length=8, examples=["UA-63"], json_schema_extra={"enum": REGION_CODES}
    )
    settlement: Text = NonBlank
    facility: FacilityIn
    category: str = Field(
        min_length=1, max_length=40, examples=["generator"], json_schema_extra={"enum": CATEGORY_NAMES}
    )
    specs: dict[str, Any] = Field(default_factory=dict, examples=[{"power_kw": 100, "fuel": ["diesel"]}])
    quantity: int = Field(ge=1, le=1000, strict=True)
    priority: Priority = "medium"
    needed_by: IsoDate
    justification: Text = Field(min_length=1, max_length=4000)
    contact: ContactIn

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if get_region(value) is None:
            raise ValueError(f"unknown region {value!r}; use an ISO 3166-2:UA code such as 'UA-63'")
        return value

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
