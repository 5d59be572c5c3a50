"""Typed payloads (the CloudEvents ``data``) of every event type; past-tense names."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

Priority = Literal["critical", "high", "medium", "low"]
FacilityKind = Literal[
    "hospital", "water_utility", "heating_plant", "power_grid", "school", "shelter", "other"
]
RequestStatus = Literal[
    "submitted",
    "waitlisted",
    "partially_allocated",
    "allocated",
    "approved",
    "in_delivery",
    "fulfilled",
    "cancelled",
    "closed",
]


Locale = Literal["uk", "en"]


def _absolute_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    return value


AbsoluteHttpUrl = Annotated[str, AfterValidator(_absolute_http_url)]


class Payload(BaseModel):
    """Base of every payload: immutable, unknown fields tolerated for forward compatibility."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Facility(Payload):
    name: str
    kind: FacilityKind


class Location(Payload):
    region: str
    site: str


# --- requests service -------------------------------------------------------------------------


class RequestSubmitted(Payload):
    request_id: UUID
    ref: str
    region: str
    settlement: str
    facility: Facility
    category: str
    specs: dict[str, Any]
    quantity: int = Field(ge=1)
    priority: Priority
    needed_by: date
    submitted_at: datetime
    created_by: str


class RequestUpdated(Payload):
    request_id: UUID
    ref: str
    region: str
    priority: Priority
    previous_priority: Priority
    updated_by: str


class RequestCancelled(Payload):
    request_id: UUID
    ref: str
    region: str
    status: Literal["cancelled", "closed"]
    reason: str
    delivered_quantity: int = Field(ge=0)
    cancelled_by: str


class RequestQuantities(Payload):
    requested: int = Field(ge=1)
    proposed: int = Field(ge=0)
    approved: int = Field(ge=0)
    dispatched: int = Field(ge=0)
    delivered: int = Field(ge=0)
    waitlisted: int = Field(ge=0)


class RequestStatusChanged(Payload):
    """The requests service derived a new status; region admins are told of every one."""

    request_id: UUID
    ref: str
    region: str
    settlement: str
    facility: Facility
    category: str
    priority: Priority
    status: RequestStatus
    previous_status: RequestStatus
    quantities: RequestQuantities


class RequestFulfilled(Payload):
    request_id: UUID
    ref: str
    region: str
    delivered_quantity: int = Field(ge=1)


# --- allocation service: demand outcome --------------------------------------------------------


class RequestWaitlisted(Payload):
    request_id: UUID
    ref: str
    region: str
    category: str
    priority: Priority
    unmet_quantity: int = Field(ge=1)
    reason: str


# --- allocation service: inventory ---------------------------------------------------------------


class InventoryRegistered(Payload):
    lot_id: UUID
    donor_id: str
    category: str
    specs: dict[str, Any]
    quantity: int = Field(ge=1)
    location: Location
    available_from: date
    eligible_regions: list[str] | None
    notes: str | None = None
    programme_id: str | None = None
    unit_value: Decimal | None = Field(default=None, description="What one unit is worth, in currency")
    currency: str | None = None


class InventoryAdjusted(Payload):
    lot_id: UUID
    donor_id: str
    quantity: int = Field(ge=0)
    previous_quantity: int = Field(ge=0)


class InventoryWithdrawn(Payload):
    lot_id: UUID
    donor_id: str
    withdrawn_quantity: int = Field(ge=0)


# --- allocation service: donors and programmes ----------------------------------------------------

DonorKind = Literal["government", "agency", "company", "ngo"]


class DonorRegistered(Payload):
    """An admin registered a donor (its contact e-mails stay in the allocation service)."""

    donor_id: str
    name_en: str
    name_uk: str
    kind: DonorKind
    country: str


class DonorUpdated(DonorRegistered):
    """A donor's names, kind or country as they are after an admin's change."""

    changed: list[str] = Field(description="The fields the change named")


class Money(Payload):
    currency: str
    amount: Decimal


class Period(Payload):
    start: date
    end: date


class ProgrammeRegistered(Payload):
    programme_id: str
    donor_id: str
    donor_name_en: str
    donor_name_uk: str
    name_en: str
    name_uk: str
    period: Period
    budget: Money
    implementing_partner: str | None = None


class ProgrammeUpdated(ProgrammeRegistered):
    """A programme as it is after an admin's change."""

    changed: list[str] = Field(description="The fields the change named")


# --- allocation service: allocations -----------------------------------------------------------


class AllocationEvent(Payload):
    """What every allocation event carries, so consumers never look anything up elsewhere."""

    allocation_id: UUID
    request_id: UUID
    request_ref: str
    lot_id: UUID
    donor_id: str
    # The donor's names when it is registered (null otherwise, and in events from before the registry).
    donor_name_en: str | None = None
    donor_name_uk: str | None = None
    region: str
    settlement: str
    facility: Facility
    category: str
    quantity: int = Field(ge=1)


class ReasonFacts(Payload):
    """The facts behind a proposal's reason, so each reader can word it in its own language."""

    rank: int = Field(ge=1, description="The request's place in the order of service")
    priority: Priority
    front_line: bool
    distance_km: float = Field(ge=0, description="From the lot to the request's region")
    available_by_needed_by: bool = Field(description="The lot is available by the request's needed-by date")
    compatible_lots: int = Field(ge=0, description="Lots whose stock fits the request")
    basis: Literal["nearest", "late_stock_only", "exchanged", "moved"] = Field(
        description="nearest: the nearest compatible free stock left; late_stock_only: only stock available"
        " after the needed-by date was left; exchanged: stock freed by moving earlier requests to other lots;"
        " moved: moved to this lot so nearer stock could serve other requests"
    )


class AllocationProposed(AllocationEvent):
    reason: str = Field(description="Why this lot, in English")
    expires_at: datetime
    # Null in events from before the facts were kept.
    reason_facts: ReasonFacts | None = None


class AllocationApproved(AllocationEvent):
    approved_by: str


class AllocationRejected(AllocationEvent):
    reason: str
    rejected_by: str


class AllocationExpired(AllocationEvent):
    proposed_at: datetime


class AllocationReleased(AllocationEvent):
    reason: str


class AllocationDispatched(AllocationEvent):
    waybill: str | None = None
    carrier: str | None = None
    eta: date | None = None
    serials: list[str] = Field(default_factory=list)


class AllocationDelivered(AllocationEvent):
    received_quantity: int = Field(ge=0)
    rejected_quantity: int = Field(ge=0)
    note: str | None = None
    serials: list[str] = Field(default_factory=list)
    waybill: str | None = None


# --- allocation service: a donor's monthly statement ----------------------------------------------


class StatementTotals(Payload):
    """A donor's units at each stage within the month, as the donor-fulfilment report counts them."""

    proposed: int = Field(ge=0)
    approved: int = Field(ge=0)
    dispatched: int = Field(ge=0)
    delivered: int = Field(ge=0, description="Units received by facilities")
    rejected_on_receipt: int = Field(ge=0)
    facilities_served: int = Field(ge=0)
    median_days_approval_to_delivery: float | None = Field(default=None, ge=0)
    value_delivered: list[Money] = Field(default_factory=list, description="One sum per currency")


class StatementLine(Payload):
    """Units delivered in one region under one programme (null: stock outside any programme)."""

    region: str
    programme_id: str | None = None
    programme_name_en: str | None = None
    programme_name_uk: str | None = None
    delivered: int = Field(ge=0)
    rejected_on_receipt: int = Field(ge=0)
    facilities_served: int = Field(ge=0)
    value_delivered: list[Money] = Field(default_factory=list)


class FacilityServed(Payload):
    """A facility that received the donor's units in the month, with the requests they answered."""

    region: str
    settlement: str
    facility_name: str
    request_refs: list[str]
    categories: list[str]
    units_received: int = Field(ge=0)


class DonorStatementIssued(Payload):
    """A donor's fulfilment statement for a calendar month (UTC), issued once after the month ends.

    It carries every figure its PDF shows, and nothing personal: facilities and request refs, no
    contact names, phones or e-mails.
    """

    donor_id: str
    donor_name_en: str
    donor_name_uk: str
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-11"])
    period: Period
    issued_at: datetime
    totals: StatementTotals
    lines: list[StatementLine] = Field(default_factory=list)
    facilities: list[FacilityServed] = Field(default_factory=list)


# --- notifications service ---------------------------------------------------------------------


class NotificationOutcome(Payload):
    notification_id: UUID
    source_event_id: UUID
    source_event_type: str
    recipient: str
    channel: Literal["inbox", "email", "webhook"]
    attempts: int = Field(ge=1)


class NotificationDelivered(NotificationOutcome):
    pass


class NotificationFailed(NotificationOutcome):
    error: str


# --- console: accounts (the only events that hold a secret: the one-time link) -----------------


class AccountLinkIssued(Payload):
    """A one-time link for a person to set their password; never logged, never kept after sending."""

    account_id: UUID
    email: EmailStr
    display_name: str = Field(min_length=1, max_length=200)
    locale: Locale
    link: AbsoluteHttpUrl = Field(
        repr=False,
        description="The one-time link (absolute http(s) URL): a secret until used or expired.",
        json_schema_extra={"format": "uri", "pattern": "^https?://"},
    )
    expires_at: AwareDatetime


class AccountInvited(AccountLinkIssued):
    """An admin invited a person: the link sets their first password."""


class AccountPasswordReset(AccountLinkIssued):
    """A password reset was asked for: the link sets a new password."""
