"""A donor's monthly statement (``DonorStatementIssued``) from the reports' projected facts.

Every figure is the donor-fulfilment report's own counting (``figures.donor_fulfilment``) over the
month's period, asked at the grain each part of the statement needs: the totals with lots stripped of
programme and value (one row for the donor: units, facilities served and median across everything),
the values with the lots as they are (one row per programme and currency), and the lines per region
with the lots stripped of value only (one row per programme). Pure: no I/O.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.allocation.reports.figures import AllocationFacts, Filters, LotFacts, donor_fulfilment
from shared.events.payloads import (
    DonorStatementIssued,
    FacilityServed,
    Money,
    Period,
    StatementLine,
    StatementTotals,
)

# Years 2000-2999: the service's records start well after 2000, and year 0 is no date at all.
MONTH_PATTERN = r"^2\d{3}-(0[1-9]|1[0-2])$"
MONTH = re.compile(MONTH_PATTERN)
STAGES = ("proposed", "approved", "dispatched", "delivered", "rejected_on_receipt")


@dataclass(frozen=True)
class Names:
    """What the registry calls the donor and its programmes (en, uk)."""

    donor_en: str
    donor_uk: str
    programmes: Mapping[str, tuple[str, str]]


def month_period(month: str) -> Period:
    """``YYYY-MM`` as its first and last day; ValueError for anything else."""
    if not MONTH.fullmatch(month):
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    year, number = int(month[:4]), int(month[5:])
    return Period(start=date(year, number, 1), end=date(year, number, calendar.monthrange(year, number)[1]))


def previous_month(now: datetime) -> str:
    """The calendar month (UTC) before the one ``now`` falls in."""
    first = now.date().replace(day=1)
    year, number = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
    return f"{year:04d}-{number:02d}"


def statement(
    *,
    donor_id: str,
    month: str,
    names: Names,
    allocations: Iterable[AllocationFacts],
    lots: Mapping[UUID, LotFacts],
    request_refs: Mapping[UUID, str],
    issued_at: datetime,
) -> DonorStatementIssued:
    """The donor's statement for ``month``; the period ends today for the month in progress."""
    period = month_period(month)
    if period.start <= issued_at.date() < period.end:
        period = Period(start=period.start, end=issued_at.date())
    mine = [a for a in allocations if a.donor_id == donor_id]
    filters = Filters(start=period.start, end=period.end, donor_id=donor_id)
    return DonorStatementIssued(
        donor_id=donor_id,
        donor_name_en=names.donor_en,
        donor_name_uk=names.donor_uk,
        month=month,
        period=period,
        issued_at=issued_at,
        totals=_totals(mine, lots, filters),
        lines=_lines(mine, lots, filters, names),
        facilities=_facilities(mine, filters, request_refs),
    )


def had_activity(totals: StatementTotals) -> bool:
    """Whether any unit of the donor was proposed, approved, dispatched or delivered in the month."""
    return any((totals.proposed, totals.approved, totals.dispatched, totals.delivered))


def _totals(mine: list[AllocationFacts], lots: Mapping[UUID, LotFacts], filters: Filters) -> StatementTotals:
    whole = donor_fulfilment(mine, {}, {}, filters)
    row: dict[str, Any] = whole[0] if whole else {f"units_{stage}": 0 for stage in STAGES}
    return StatementTotals(
        proposed=row["units_proposed"],
        approved=row["units_approved"],
        dispatched=row["units_dispatched"],
        delivered=row["units_delivered"],
        rejected_on_receipt=row["units_rejected_on_receipt"],
        facilities_served=row.get("facilities_served", 0),
        median_days_approval_to_delivery=row.get("median_days_approval_to_delivery"),
        value_delivered=_values(donor_fulfilment(mine, lots, {}, filters)),
    )


def _values(rows: Iterable[Mapping[str, Any]]) -> list[Money]:
    """One sum per currency of the rows' delivered value (rows without a currency carry none)."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["currency"] and row["value_delivered"] is not None:
            sums[row["currency"]] += row["value_delivered"]
    return [Money(currency=currency, amount=sums[currency]) for currency in sorted(sums)]


def _lines(
    mine: list[AllocationFacts], lots: Mapping[UUID, LotFacts], filters: Filters, names: Names
) -> list[StatementLine]:
    valueless = {lot_id: replace(lot, unit_value=None, currency=None) for lot_id, lot in lots.items()}
    lines = []
    for region in sorted({a.region for a in mine if a.region is not None}):
        here = replace(filters, region=region)
        values: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        for row in donor_fulfilment(mine, lots, {}, here):
            values[row["programme_id"]].append(row)
        for row in donor_fulfilment(mine, valueless, {}, here):
            if not (row["units_delivered"] or row["units_rejected_on_receipt"]):
                continue
            programme = row["programme_id"]
            name_en, name_uk = names.programmes.get(programme, (None, None)) if programme else (None, None)
            lines.append(
                StatementLine(
                    region=region,
                    programme_id=programme,
                    programme_name_en=name_en,
                    programme_name_uk=name_uk,
                    delivered=row["units_delivered"],
                    rejected_on_receipt=row["units_rejected_on_receipt"],
                    facilities_served=row["facilities_served"],
                    value_delivered=_values(values[programme]),
                )
            )
    return lines


def _facilities(
    mine: list[AllocationFacts], filters: Filters, request_refs: Mapping[UUID, str]
) -> list[FacilityServed]:
    """Facilities that received units in the month: the report's rule for "facilities served"."""
    served: dict[tuple[str, str, str], dict[str, Any]] = {}
    for a in mine:
        if not filters.in_period(a.delivered_at) or a.received_quantity <= 0:
            continue
        key = (a.region or "", a.settlement or "", a.facility_name or "")
        facility = served.setdefault(key, {"refs": set(), "categories": set(), "units": 0})
        facility["units"] += a.received_quantity
        if a.request_id is not None and a.request_id in request_refs:
            facility["refs"].add(request_refs[a.request_id])
        if a.category is not None:
            facility["categories"].add(a.category)
    return [
        FacilityServed(
            region=region,
            settlement=settlement,
            facility_name=facility_name,
            request_refs=sorted(facility["refs"]),
            categories=sorted(facility["categories"]),
            units_received=facility["units"],
        )
        for (region, settlement, facility_name), facility in sorted(served.items())
    ]
