"""Tables of the allocation service.

Lots and demands carry one counter per allocation stage, kept in step with their allocations in the
same transaction. CHECK constraints hold SPEC §7 rule 4 in the database itself: whatever the number
of instances, no committed transaction can leave a lot or a demand over-allocated.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from services.allocation.domain import ALLOCATION_STATUSES, DONOR_KINDS
from services.allocation.reports.models import DonorStatement, ReportAllocation, ReportLot, ReportRequest  # noqa: F401
from shared.db import UTCDateTime, utcnow
from shared.idempotency import IdempotencyRecord  # noqa: F401  (this service keeps idempotency keys)

LOT_COMMITTED_SQL = "proposed + approved + dispatched + delivered + rejected_on_delivery"
DEMAND_COMMITTED_SQL = "proposed + approved + dispatched + delivered"
MONEY = sa.Numeric(18, 4)  # amounts up to shared.fields.MONEY_MAX, in any currency's minor units
STATUSES_SQL = ", ".join(f"'{status}'" for status in ALLOCATION_STATUSES)
DONOR_KINDS_SQL = ", ".join(f"'{kind}'" for kind in DONOR_KINDS)


class Demand(SQLModel, table=True):
    """A request as the allocation service knows it, from ``request.*`` events, with its units by stage."""

    __tablename__ = "demands"
    __table_args__ = (
        sa.CheckConstraint(
            "proposed >= 0 AND approved >= 0 AND dispatched >= 0 AND delivered >= 0",
            name="ck_demands_counters_non_negative",
        ),
        sa.CheckConstraint(f"{DEMAND_COMMITTED_SQL} <= quantity", name="ck_demands_never_over_allocated"),
        # The order of service (``backlog.service_key_sql``): a slice of a big re-match is a range of it.
        sa.Index(
            "ix_demands_service_order",
            "category",
            "open",
            "priority_rank",
            "front_line_rank",
            "needed_by",
            "submitted_at",
            "request_id",
        ),
    )

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
    # The first two keys of the order of service, kept by ``backlog.ranks`` (0 first; 1: not front line).
    priority_rank: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    front_line_rank: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    open: bool = Field(default=True, index=True)
    proposed: int = 0
    approved: int = 0
    dispatched: int = 0
    delivered: int = 0  # units received; units rejected on delivery are unmet again
    # Units last reported in request.waitlisted (0 once proposals cover the request): report changes only.
    waitlisted_reported: int = 0
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))

    @property
    def unmet(self) -> int:
        """Units neither proposed, approved, dispatched nor delivered."""
        return self.quantity - (self.proposed + self.approved + self.dispatched + self.delivered)


class Lot(SQLModel, table=True):
    """A donor's inventory lot; ``quantity`` is the total, the counters what is committed of it."""

    __tablename__ = "lots"
    __table_args__ = (
        sa.CheckConstraint(
            "quantity >= 0 AND proposed >= 0 AND approved >= 0 AND dispatched >= 0 AND delivered >= 0"
            " AND rejected_on_delivery >= 0",
            name="ck_lots_counters_non_negative",
        ),
        sa.CheckConstraint(f"{LOT_COMMITTED_SQL} <= quantity", name="ck_lots_never_over_allocated"),
        sa.Index("ix_lots_listing", "created_at", "id"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    donor_id: str = Field(max_length=200, index=True)
    category: str = Field(max_length=40, index=True)
    specs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    quantity: int
    proposed: int = 0
    approved: int = 0
    dispatched: int = 0
    delivered: int = 0
    # Units the receiving region refused (damaged, wrong): out of the lot's free stock for good.
    rejected_on_delivery: int = 0
    location_region: str = Field(max_length=8, index=True)
    location_site: str = Field(max_length=200)
    available_from: date
    eligible_regions: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    notes: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))
    # The donor's programme these units come from, and what one unit is worth (both optional).
    programme_id: str | None = Field(default=None, max_length=64, index=True)
    unit_value: Decimal | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    currency: str | None = Field(default=None, max_length=3)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))

    @property
    def committed(self) -> int:
        """Units the lot can no longer offer: allocated at any stage, or refused on delivery."""
        return self.proposed + self.approved + self.dispatched + self.delivered + self.rejected_on_delivery

    @property
    def free(self) -> int:
        """Units matching may propose (none once the lot is withdrawn)."""
        return 0 if self.withdrawn_at is not None else self.quantity - self.committed


class Allocation(SQLModel, table=True):
    """A quantity of one lot for one request, moving through the lifecycle of SPEC §4."""

    __tablename__ = "allocations"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="ck_allocations_quantity_positive"),
        sa.CheckConstraint(f"status IN ({STATUSES_SQL})", name="ck_allocations_status"),
        sa.CheckConstraint(
            "received_quantity IS NULL OR received_quantity + rejected_quantity = quantity",
            name="ck_allocations_receipt_adds_up",
        ),
        sa.Index("ix_allocations_listing", "created_at", "id"),
        sa.Index("ix_allocations_status_expiry", "status", "expires_at"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    request_id: UUID = Field(foreign_key="demands.request_id", index=True)
    lot_id: UUID = Field(foreign_key="lots.id", index=True)
    donor_id: str = Field(max_length=200, index=True)
    region: str = Field(max_length=8, index=True)
    category: str = Field(max_length=40)
    quantity: int
    status: str = Field(default="proposed", max_length=16)
    reason: str = Field(sa_column=Column(sa.Text(), nullable=False))
    # The facts behind `reason` (`ReasonFacts`), for wording it in other languages; null in older rows.
    reason_facts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    approved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    approved_by: str | None = Field(default=None, max_length=200)
    rejected_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    rejected_by: str | None = Field(default=None, max_length=200)
    rejection_reason: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))
    expired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    released_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    release_reason: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))
    dispatched_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    dispatched_by: str | None = Field(default=None, max_length=200)
    waybill: str | None = Field(default=None, max_length=100)
    carrier: str | None = Field(default=None, max_length=200)
    eta: date | None = None
    serials: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    delivered_by: str | None = Field(default=None, max_length=200)
    received_quantity: int | None = None
    rejected_quantity: int | None = None
    delivery_note: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))


class Donor(SQLModel, table=True):
    """A government, agency, company or NGO that gives equipment; lots name it by ``id``."""

    __tablename__ = "donors"
    __table_args__ = (sa.CheckConstraint(f"kind IN ({DONOR_KINDS_SQL})", name="ck_donors_kind"),)

    id: str = Field(primary_key=True, max_length=64)
    name_en: str = Field(max_length=200)
    name_uk: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    country: str = Field(max_length=2)
    contact_emails: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Programme(SQLModel, table=True):
    """A donor's funded programme (a grant phase, a project): its period, budget and implementing partner."""

    __tablename__ = "programmes"
    __table_args__ = (sa.CheckConstraint("ends_on >= starts_on", name="ck_programmes_period"),)

    id: str = Field(primary_key=True, max_length=64)
    donor_id: str = Field(foreign_key="donors.id", max_length=64, index=True)
    name_en: str = Field(max_length=300)
    name_uk: str = Field(max_length=300)
    starts_on: date
    ends_on: date
    budget_amount: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    budget_currency: str = Field(max_length=3)
    implementing_partner: str | None = Field(default=None, max_length=200)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class RematchRun(SQLModel, table=True):
    """A category's sliced re-match in progress, written in the transaction of each of its slices.

    ``after_*``: the last demand matched, as its place in the order of service (``backlog.service_key``);
    ``ranked``: unmet demands in the slices already matched. ``cause`` is the envelope of the event
    that started the run (its proposals are caused by it), ``started_at`` the run's ``now``.
    """

    __tablename__ = "rematch_runs"

    category: str = Field(primary_key=True, max_length=40)
    after_rank: int | None = None
    after_front_line: int | None = None
    after_needed_by: date | None = None
    after_submitted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    after_request_id: UUID | None = None
    ranked: int = 0
    backlog_done: bool = False  # every slice matched; the deferred requests are left
    cause: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    actor: str = Field(max_length=200)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class RematchDeferred(SQLModel, table=True):
    """A new request's own matching, put off until its category's re-match in progress ends (in order)."""

    __tablename__ = "rematch_deferred"

    id: int | None = Field(
        default=None, sa_column=Column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    )
    category: str = Field(max_length=40, index=True)
    request_id: UUID
    cause: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    actor: str = Field(max_length=200)
