"""The four reports' figures from projected facts: pure functions, no I/O (each defined in docs).

Periods are UTC dates, both ends included. Unmet need and lead times count the requests submitted in
the period; donor fulfilment counts each stage whose event fell in it. Stock is in ``stock_figures``.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from shared.geography import get_region

PIPELINE = ("proposed", "approved", "dispatched")
LEAD_TIME_STAGES = (
    "submit_to_proposal",
    "proposal_to_approval",
    "approval_to_dispatch",
    "dispatch_to_delivery",
    "submit_to_delivery",
)


@dataclass(frozen=True)
class Filters:
    """What a report is limited to; None means any."""

    start: date | None = None
    end: date | None = None
    region: str | None = None
    category: str | None = None
    donor_id: str | None = None
    programme_id: str | None = None
    priority: str | None = None
    front_line: bool | None = None

    def in_period(self, at: datetime | None) -> bool:
        """Whether a time falls on a day of the period."""
        if at is None:
            return False
        day = at.date()
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def place(self, region: str | None, category: str | None) -> bool:
        """Whether a region and category pass the region, front-line and category filters."""
        return (
            region is not None
            and (self.region is None or region == self.region)
            and (self.front_line is None or is_front_line(region) == self.front_line)
            and (self.category is None or category == self.category)
        )


@dataclass(frozen=True)
class RequestFacts:
    request_id: UUID
    region: str | None
    category: str | None
    priority: str | None
    quantity: int | None
    submitted_at: datetime | None
    waitlisted_at: datetime | None
    ended_as: str | None


@dataclass(frozen=True)
class AllocationFacts:
    allocation_id: UUID
    request_id: UUID | None
    lot_id: UUID | None
    donor_id: str | None
    region: str | None
    category: str | None
    settlement: str | None
    facility_name: str | None
    quantity: int
    proposed_at: datetime | None = None
    expires_at: datetime | None = None
    approved_at: datetime | None = None
    rejected_at: datetime | None = None
    expired_at: datetime | None = None
    released_at: datetime | None = None
    dispatched_at: datetime | None = None
    delivered_at: datetime | None = None
    received_quantity: int = 0
    rejected_quantity: int = 0

    @property
    def stage(self) -> str:
        """The furthest stage its events reached."""
        for stage, at in (
            ("delivered", self.delivered_at),
            ("dispatched", self.dispatched_at),
            ("released", self.released_at),
            ("approved", self.approved_at),
            ("rejected", self.rejected_at),
            ("expired", self.expired_at),
        ):
            if at is not None:
                return stage
        return "proposed"

    @property
    def last_event_at(self) -> datetime | None:
        """The time of its latest stage."""
        times = [self.proposed_at, self.approved_at, self.rejected_at, self.expired_at]
        times += [self.released_at, self.dispatched_at, self.delivered_at]
        return max((t for t in times if t is not None), default=None)


@dataclass(frozen=True)
class LotFacts:
    lot_id: UUID
    donor_id: str | None
    programme_id: str | None
    category: str | None
    region: str | None
    quantity: int
    unit_value: Decimal | None
    currency: str | None
    registered_at: datetime | None
    withdrawn_at: datetime | None
    changed_at: datetime | None


def is_front_line(region: str) -> bool:
    """Whether the region is marked front-line (shared/data/regions.json)."""
    known = get_region(region)
    return known is not None and known.front_line


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default), None when there is nothing."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _hours(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _by_request(allocations: Iterable[AllocationFacts]) -> dict[UUID, list[AllocationFacts]]:
    grouped: dict[UUID, list[AllocationFacts]] = defaultdict(list)
    for allocation in allocations:
        if allocation.request_id is not None:
            grouped[allocation.request_id].append(allocation)
    return grouped


def _cohort(requests: Iterable[RequestFacts], filters: Filters) -> list[RequestFacts]:
    """Requests known from their submission that pass the request filters, submitted in the period."""
    return [
        r
        for r in requests
        if r.quantity is not None
        and filters.in_period(r.submitted_at)
        and filters.place(r.region, r.category)
        and (filters.priority is None or r.priority == filters.priority)
    ]


def unmet_need(
    requests: Iterable[RequestFacts],
    allocations: Iterable[AllocationFacts],
    filters: Filters,
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """By region x category: requested, delivered, in the pipeline, unmet, waitlisted, oldest wait."""
    by_request = _by_request(allocations)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for request in _cohort(requests, filters):
        # _cohort keeps only requests whose submission was projected: these fields are set.
        assert request.region is not None
        assert request.category is not None
        assert request.quantity is not None
        assert request.submitted_at is not None
        mine = by_request.get(request.request_id, [])
        delivered = sum(a.received_quantity for a in mine if a.stage == "delivered")
        pipeline = sum(a.quantity for a in mine if a.stage in PIPELINE)
        ended = request.ended_as is not None
        unmet = 0 if ended else max(0, request.quantity - delivered - pipeline)
        last_proposal = max((a.proposed_at for a in mine if a.proposed_at), default=None)
        waitlisted = (
            unmet > 0
            and request.waitlisted_at is not None
            and (last_proposal is None or request.waitlisted_at > last_proposal)
        )
        row = rows.setdefault(
            (request.region, request.category),
            {
                "region": request.region,
                "front_line": is_front_line(request.region),
                "category": request.category,
                "requests": 0,
                "requested": 0,
                "delivered": 0,
                "in_pipeline": 0,
                "unmet": 0,
                "waitlisted_requests": 0,
                "oldest_submitted_on": None,
                "oldest_wait_days": None,
            },
        )
        row["requests"] += 1
        row["requested"] += delivered + pipeline if ended else request.quantity
        row["delivered"] += delivered
        row["in_pipeline"] += pipeline
        row["unmet"] += unmet
        row["waitlisted_requests"] += int(waitlisted)
        if unmet > 0 and (
            row["oldest_submitted_on"] is None or request.submitted_at.date() < row["oldest_submitted_on"]
        ):
            row["oldest_submitted_on"] = request.submitted_at.date()
        if unmet > 0:
            days = (now - request.submitted_at).days
            row["oldest_wait_days"] = max(days, row["oldest_wait_days"] or 0)
    return [rows[key] for key in sorted(rows)]


def donor_fulfilment(
    allocations: Iterable[AllocationFacts],
    lots: Mapping[UUID, LotFacts],
    requests: Mapping[UUID, RequestFacts],
    filters: Filters,
) -> list[dict[str, Any]]:
    """By donor x programme (x currency of the lots' unit values): units and value at each stage."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    facilities: dict[tuple[str, str, str], set[tuple[str | None, ...]]] = defaultdict(set)
    days: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for a in allocations:
        lot = lots.get(a.lot_id) if a.lot_id else None
        programme = lot.programme_id if lot else None
        request = requests.get(a.request_id) if a.request_id else None
        if (
            a.donor_id is None
            or not filters.place(a.region, a.category)
            or (filters.donor_id is not None and a.donor_id != filters.donor_id)
            or (filters.programme_id is not None and programme != filters.programme_id)
            or (filters.priority is not None and (request is None or request.priority != filters.priority))
        ):
            continue
        currency = lot.currency if lot and lot.unit_value is not None else None
        unit_value = lot.unit_value if lot and currency else None
        stages = {
            "proposed": (filters.in_period(a.proposed_at), a.quantity),
            "approved": (filters.in_period(a.approved_at), a.quantity),
            "dispatched": (filters.in_period(a.dispatched_at), a.quantity),
            "delivered": (filters.in_period(a.delivered_at), a.received_quantity),
            "rejected_on_receipt": (filters.in_period(a.delivered_at), a.rejected_quantity),
        }
        if not any(counted for counted, _ in stages.values()):
            continue
        key = (a.donor_id, programme or "", currency or "")
        row = rows.setdefault(key, _fulfilment_row(a.donor_id, programme, currency))
        for stage, (counted, units) in stages.items():
            if counted:
                row[f"units_{stage}"] += units
                if unit_value is not None:
                    row[f"value_{stage}"] += units * unit_value
        if filters.in_period(a.delivered_at) and a.delivered_at is not None:
            if a.received_quantity > 0:
                facilities[key].add((a.region, a.settlement, a.facility_name))
            if a.approved_at is not None:
                days[key].append((a.delivered_at - a.approved_at).total_seconds() / 86400)
    for key, row in rows.items():
        row["facilities_served"] = len(facilities[key])
        row["median_days_approval_to_delivery"] = _rounded(
            statistics.median(days[key]) if days[key] else None
        )
    return [rows[key] for key in sorted(rows)]


def _fulfilment_row(donor_id: str, programme_id: str | None, currency: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {"donor_id": donor_id, "programme_id": programme_id, "currency": currency}
    for stage in ("proposed", "approved", "dispatched", "delivered", "rejected_on_receipt"):
        row[f"units_{stage}"] = 0
        row[f"value_{stage}"] = Decimal(0) if currency else None
    return row


def lead_times(
    requests: Iterable[RequestFacts],
    allocations: Iterable[AllocationFacts],
    lots: Mapping[UUID, LotFacts],
    filters: Filters,
) -> list[dict[str, Any]]:
    """p50 and p90 in hours of each stage, over the requests submitted in the period and their allocations."""
    by_request = _by_request(allocations)
    spans: dict[str, list[float]] = {stage: [] for stage in LEAD_TIME_STAGES}
    for request in _cohort(requests, filters):
        assert request.submitted_at is not None
        mine = [a for a in by_request.get(request.request_id, []) if _of_donor(a, lots, filters)]
        proposed = [a.proposed_at for a in mine if a.proposed_at is not None]
        delivered = [a.delivered_at for a in mine if a.delivered_at is not None]
        if proposed:
            spans["submit_to_proposal"].append(_hours(min(proposed), request.submitted_at))
        if delivered:
            spans["submit_to_delivery"].append(_hours(min(delivered), request.submitted_at))
        for a in mine:
            for stage, later, earlier in (
                ("proposal_to_approval", a.approved_at, a.proposed_at),
                ("approval_to_dispatch", a.dispatched_at, a.approved_at),
                ("dispatch_to_delivery", a.delivered_at, a.dispatched_at),
            ):
                if later is not None and earlier is not None:
                    spans[stage].append(_hours(later, earlier))
    return [
        {
            "stage": stage,
            "count": len(values),
            "p50_hours": _rounded(percentile(values, 0.5)),
            "p90_hours": _rounded(percentile(values, 0.9)),
        }
        for stage, values in spans.items()
    ]


def _of_donor(a: AllocationFacts, lots: Mapping[UUID, LotFacts], filters: Filters) -> bool:
    lot = lots.get(a.lot_id) if a.lot_id else None
    return (filters.donor_id is None or a.donor_id == filters.donor_id) and (
        filters.programme_id is None or (lot is not None and lot.programme_id == filters.programme_id)
    )
