"""The allocation service's HTTP bodies: input validation and public shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.allocation.domain import AllocationStatus
from shared.events.payloads import FacilityKind, Priority
from shared.fields import REGION_CODES, CategoryName, IsoDate, RegionCode, Strict, Text
from shared.identifiers import DonorId
from shared.problems import problem_responses

MAX_LOT_QUANTITY = 100_000


class LocationIn(Strict):
    region: RegionCode
    site: Text = Field(min_length=1, max_length=200, examples=["Склад, Київ, вул. Промислова 5"])


class LotCreate(Strict):
    """Body of ``POST /v1/lots``; a donor registers for itself, coordinators name the donor."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "donor_id": "jica",
                    "category": "gas_turbine",
                    "specs": {"power_kw": 25000, "fuel": "gas"},
                    "quantity": 2,
                    "location": {"region": "UA-32", "site": "Бориспіль, логістичний центр"},
                    "available_from": "2026-12-01",
                    "eligible_regions": ["UA-63", "UA-65"],
                    "notes": "Mobile units on trailers",
                }
            ]
        }
    )

    donor_id: DonorId | None = Field(default=None, examples=["jica"])
    category: CategoryName
    specs: dict[str, Any] = Field(examples=[{"power_kw": 500, "fuel": "diesel", "phases": "three"}])
    quantity: int = Field(ge=1, le=MAX_LOT_QUANTITY, strict=True)
    location: LocationIn
    available_from: IsoDate | None = Field(default=None, description="Defaults to today")
    eligible_regions: list[RegionCode] | None = Field(
        default=None, min_length=1, max_length=len(REGION_CODES), description="null: any region"
    )
    notes: Text | None = Field(default=None, max_length=4000)


class LotPatch(Strict):
    """Body of ``PATCH /v1/lots/{id}``: the lot's new total quantity."""

    quantity: int = Field(ge=0, le=MAX_LOT_QUANTITY, strict=True)


class RejectIn(Strict):
    reason: Text = Field(min_length=1, max_length=1000)


class DispatchIn(Strict):
    waybill: Text | None = Field(default=None, min_length=1, max_length=100)
    carrier: Text | None = Field(default=None, min_length=1, max_length=200)
    eta: IsoDate | None = None
    serials: list[Annotated[Text, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=MAX_LOT_QUANTITY
    )


class DeliverIn(Strict):
    received_quantity: int = Field(ge=0, le=MAX_LOT_QUANTITY, strict=True)
    rejected_quantity: int = Field(default=0, ge=0, le=MAX_LOT_QUANTITY, strict=True)
    note: Text | None = Field(default=None, min_length=1, max_length=4000)


class MatchingRunIn(Strict):
    category: CategoryName | None = None


class LocationOut(BaseModel):
    region: str
    site: str


class LotQuantitiesOut(BaseModel):
    total: int
    free: int
    proposed: int
    approved: int
    dispatched: int
    delivered: int
    rejected_on_delivery: int


class LotOut(BaseModel):
    """A donor's lot with its units by stage."""

    id: UUID
    donor_id: str
    category: str
    specs: dict[str, Any]
    quantity: int
    location: LocationOut
    available_from: date
    eligible_regions: list[str] | None
    notes: str | None
    status: Literal["active", "withdrawn"]
    quantities: LotQuantitiesOut
    created_by: str
    created_at: datetime
    withdrawn_at: datetime | None


class LotPage(BaseModel):
    items: list[LotOut]
    next_cursor: str | None


class FacilityOut(BaseModel):
    name: str
    kind: FacilityKind


class AllocationOut(BaseModel):
    """An allocation with the request it serves and every step it has taken."""

    id: UUID
    request_id: UUID
    request_ref: str
    priority: Priority = Field(description="The request's priority (the approvals queue orders by it)")
    lot_id: UUID
    donor_id: str
    region: str
    settlement: str
    facility: FacilityOut
    category: str
    quantity: int
    status: AllocationStatus
    reason: str
    proposed_at: datetime
    expires_at: datetime
    updated_at: datetime
    approved_at: datetime | None
    approved_by: str | None
    rejected_at: datetime | None
    rejected_by: str | None
    rejection_reason: str | None
    expired_at: datetime | None
    released_at: datetime | None
    release_reason: str | None
    dispatched_at: datetime | None
    dispatched_by: str | None
    waybill: str | None
    carrier: str | None
    eta: date | None
    serials: list[str]
    delivered_at: datetime | None
    delivered_by: str | None
    received_quantity: int | None
    rejected_quantity: int | None
    delivery_note: str | None


class AllocationPage(BaseModel):
    items: list[AllocationOut]
    next_cursor: str | None


class WaitlistedOut(BaseModel):
    request_id: UUID
    unmet_quantity: int


class MatchingRunOut(BaseModel):
    """What a matching run changed."""

    categories: list[str]
    proposed: list[AllocationOut]
    waitlisted: list[WaitlistedOut]


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem details, worded for lots and allocations."""
    return problem_responses(
        *statuses,
        described={
            409: "Conflicts with the current status or quantities, or an earlier use of the Idempotency-Key"
        },
    )
