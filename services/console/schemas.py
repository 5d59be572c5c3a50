"""The console's HTTP shapes: what the notifications API answers, and the admin's role-and-scope form."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from pydantic import BaseModel

from services.console import domain


class Notification(BaseModel):
    """An inbox item as the notifications service shows it."""

    id: UUID
    seq: int
    type: str
    title: str
    body: str
    created_at: datetime
    read: bool
    subject_id: str = ""  # the request an event is about, for pages that refresh when it changes


class ScopeForm(BaseModel):
    """Role, region and donor as the invite and change-role forms send them (blank means none)."""

    role: str
    region: str = ""
    donor_id: str = ""

    def parsed(self) -> tuple[domain.Role, str | None, str | None]:
        """The role and its scope, checked; ScopeInvalid names what is wrong."""
        if self.role not in domain.ROLE_LABELS:
            raise domain.ScopeInvalid(domain.N_("Choose a role."))
        role = cast(domain.Role, self.role)
        region, donor_id = self.region.strip().upper() or None, self.donor_id.strip() or None
        domain.check_scope(role, region=region, donor_id=donor_id)
        return role, region, donor_id


class RequestQuantities(BaseModel):
    requested: int
    proposed: int
    approved: int
    dispatched: int
    delivered: int
    waitlisted: int


class TimelineItem(BaseModel):
    type: str
    at: datetime
    summary: str


class RequestView(BaseModel):
    """A request as the requests API answers it."""

    id: UUID
    ref: str
    region: str
    settlement: str
    facility: dict[str, str]
    category: str
    specs: dict[str, Any]
    quantity: int
    priority: str
    needed_by: date
    justification: str
    contact: dict[str, Any]
    created_at: datetime
    status: str
    quantities: RequestQuantities
    timeline: list[TimelineItem] | None = None


class LotQuantities(BaseModel):
    """A lot's units by stage."""

    total: int
    free: int
    proposed: int
    approved: int
    dispatched: int
    delivered: int


class LotLocation(BaseModel):
    region: str
    site: str


class Lot(BaseModel):
    """A donor's lot as the allocation service shows it."""

    id: UUID
    donor_id: str
    donor_name_en: str | None = None  # the registered donor's names (None when it is not registered)
    donor_name_uk: str | None = None
    category: str
    specs: dict[str, Any]
    quantity: int
    location: LotLocation
    available_from: date
    eligible_regions: list[str] | None
    notes: str | None
    status: str
    quantities: LotQuantities
    created_at: datetime
    programme_id: str | None = None
    unit_value: str | None = None  # decimal text in ``currency``
    currency: str | None = None


class Facility(BaseModel):
    name: str
    kind: str


class Allocation(BaseModel):
    """An allocation (a proposal until approved) as the allocation service shows it."""

    id: UUID
    request_id: UUID
    request_ref: str
    priority: str
    lot_id: UUID
    donor_id: str
    donor_name_en: str | None = None
    donor_name_uk: str | None = None
    region: str
    settlement: str
    facility: Facility
    category: str
    quantity: int
    status: str
    reason: str
    reason_facts: dict[str, Any] | None = None  # worded in the page's language by `shared.reasons`
    proposed_at: datetime
    expires_at: datetime
    updated_at: datetime
    rejection_reason: str | None = None
    waybill: str | None = None
    carrier: str | None = None
    eta: date | None = None
    serials: list[str] = []
    dispatched_at: datetime | None = None
    delivered_at: datetime | None = None
    received_quantity: int | None = None


class Subscription(BaseModel):
    """A person's e-mail or webhook subscription, as the notifications API answers it."""

    id: UUID
    channel: str
    target: str
    event_types: list[str] | None
    locale: str
    created_at: datetime
    secret: str | None = None  # a new webhook's signing key, answered once


class Donor(BaseModel):
    """A registered donor as the allocation service shows it."""

    id: str
    name_en: str
    name_uk: str
    kind: str
    country: str
    contact_emails: list[str]
    created_at: datetime
    updated_at: datetime


class Period(BaseModel):
    start: date
    end: date


class Money(BaseModel):
    currency: str
    amount: str  # decimal text in the currency's places


class Programme(BaseModel):
    """A donor's programme as the allocation service shows it."""

    id: str
    donor_id: str
    name_en: str
    name_uk: str
    period: Period
    budget: Money
    implementing_partner: str | None
    created_at: datetime
    updated_at: datetime
