"""The allocation service's HTTP bodies: input validation and public shapes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator

from services.allocation.domain import AllocationStatus, DonorKind
from shared.events.payloads import FacilityKind, Priority, ReasonFacts
from shared.fields import (
    REGION_CODES,
    CategoryName,
    CountryCode,
    CurrencyCode,
    IsoDate,
    MoneyAmount,
    RegionCode,
    Strict,
    Text,
    check_money_precision,
)
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
    programme_id: DonorId | None = Field(
        default=None, examples=["jica-emergency-recovery-2"], description="A programme of the lot's donor"
    )
    unit_value: MoneyAmount | None = Field(default=None, description="What one unit is worth; needs currency")
    currency: CurrencyCode | None = Field(default=None, description="ISO 4217 code of unit_value")


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
    donor_name_en: str | None = Field(description="The registered donor's name; null when not registered")
    donor_name_uk: str | None = Field(description="The registered donor's Ukrainian name, or null")
    category: str
    specs: dict[str, Any]
    quantity: int
    location: LocationOut
    available_from: date
    eligible_regions: list[str] | None
    notes: str | None
    programme_id: str | None
    unit_value: str | None = Field(description="Decimal text, in currency")
    currency: str | None
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
    donor_name_en: str | None = Field(description="The registered donor's name; null when not registered")
    donor_name_uk: str | None = Field(description="The registered donor's Ukrainian name, or null")
    region: str
    settlement: str
    facility: FacilityOut
    category: str
    quantity: int
    status: AllocationStatus
    reason: str = Field(description="Why this lot, in English")
    reason_facts: ReasonFacts | None = Field(
        default=None, description="The facts behind `reason`, to word it in any language (null in older rows)"
    )
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


# --- donors and programmes ----------------------------------------------------------------------------

Name = Annotated[Text, Field(min_length=1, max_length=200)]
ProgrammeName = Annotated[Text, Field(min_length=1, max_length=300)]


def reject_null(value: object) -> object:
    """A PATCH field that has no null value: omitted keeps the value, null is a 422 naming the field."""
    if value is None:
        raise ValueError("must not be null; omit the field to keep its value")
    return value


ContactEmails = Annotated[list[EmailStr], Field(max_length=20, examples=[["ukraine@jica.example"]])]


class PeriodIn(Strict):
    start: IsoDate
    end: IsoDate

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError(f"must not be before the start ({start.isoformat()})")
        return end


class MoneyIn(Strict):
    """An amount of money: the currency first, so that the amount's decimal places can be checked."""

    currency: CurrencyCode
    amount: MoneyAmount

    @field_validator("amount")
    @classmethod
    def _fits_currency(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get("currency")
        problem = check_money_precision(amount, currency) if currency is not None else None
        if problem is not None:
            raise ValueError(problem)
        return amount


class DonorCreate(Strict):
    """Body of ``POST /v1/donors`` (admin)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "jica",
                    "name_en": "Japan International Cooperation Agency (JICA)",
                    "name_uk": "Японське агентство міжнародного співробітництва (JICA)",
                    "kind": "government",
                    "country": "JP",
                    "contact_emails": ["ukraine@jica.example"],
                }
            ]
        }
    )

    id: DonorId
    name_en: Name
    name_uk: Name
    kind: DonorKind
    country: CountryCode
    contact_emails: ContactEmails = Field(default_factory=list)


class DonorPatch(Strict):
    """Body of ``PATCH /v1/donors/{id}``: the fields to change (null is not a value for any of them)."""

    name_en: Name | None = None
    name_uk: Name | None = None
    kind: DonorKind | None = None
    country: CountryCode | None = None
    contact_emails: ContactEmails | None = None

    _not_null = field_validator("name_en", "name_uk", "kind", "country", "contact_emails", mode="before")(
        reject_null
    )


class DonorOut(BaseModel):
    id: str
    name_en: str
    name_uk: str
    kind: DonorKind
    country: str
    contact_emails: list[str]
    created_at: datetime
    updated_at: datetime


class DonorPage(BaseModel):
    items: list[DonorOut]
    next_cursor: str | None


class ProgrammeCreate(Strict):
    """Body of ``POST /v1/programmes`` (admin)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "jica-emergency-recovery-2",
                    "donor_id": "jica",
                    "name_en": "Emergency Recovery Programme, phase 2",
                    "name_uk": "Програма екстреного відновлення, фаза 2",
                    "period": {"start": "2024-03-01", "end": "2026-12-31"},
                    "budget": {"currency": "JPY", "amount": "9000000000"},
                    "implementing_partner": "JICA Ukraine Office",
                }
            ]
        }
    )

    id: DonorId
    donor_id: DonorId
    name_en: ProgrammeName
    name_uk: ProgrammeName
    period: PeriodIn
    budget: MoneyIn
    implementing_partner: Name | None = None


class ProgrammePatch(Strict):
    """Body of ``PATCH /v1/programmes/{id}``: the fields to change; a period or budget is replaced whole."""

    name_en: ProgrammeName | None = None
    name_uk: ProgrammeName | None = None
    period: PeriodIn | None = None
    budget: MoneyIn | None = None
    implementing_partner: Name | None = Field(default=None, description="null clears it")

    _not_null = field_validator("name_en", "name_uk", "period", "budget", mode="before")(reject_null)


class PeriodOut(BaseModel):
    start: date
    end: date


class MoneyOut(BaseModel):
    currency: str
    amount: str = Field(description='Decimal text in the currency\'s minor units, e.g. "1500000.00"')


class ProgrammeOut(BaseModel):
    id: str
    donor_id: str
    name_en: str
    name_uk: str
    period: PeriodOut
    budget: MoneyOut
    implementing_partner: str | None
    created_at: datetime
    updated_at: datetime


class ProgrammePage(BaseModel):
    items: list[ProgrammeOut]
    next_cursor: str | None
