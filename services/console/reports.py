"""The report pages' rules with no I/O: which reports and filters a role has, columns, charts, file names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from services.console.domain import N_
from services.console.stock import PRIORITY_LABELS, CatalogLabels
from shared.catalog import get_category
from shared.geography import get_region
from shared.identifiers import is_donor_id

ALL_REPORTS = ("unmet-need", "donor-fulfilment", "lead-times", "stock")
FILTERS = ("from", "to", "region", "category", "donor", "programme", "priority", "front_line")
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": "application/octet-stream"}
CHART_BARS = 12  # the chart shows the largest figures; the table below has every row
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
STATEMENT_MONTHS = 12  # this month (to date) and the eleven before
STATEMENT_ROLES = ("donor", "coordinator", "admin")
TITLES = {
    "unmet-need": N_("Unmet need"),
    "donor-fulfilment": N_("Donor fulfilment"),
    "lead-times": N_("Lead times"),
    "stock": N_("Stock"),
}
CHART_TITLES = {
    "unmet-need": N_("Units unmet, by region and equipment"),
    "donor-fulfilment": N_("Units delivered, by donor and programme"),
    "lead-times": N_("Median hours of each stage (p50)"),
    "stock": N_("Free units, by equipment and region"),
}
STAGE_LABELS = {
    "submit_to_proposal": N_("Submitted → proposed"),
    "proposal_to_approval": N_("Proposed → approved"),
    "approval_to_dispatch": N_("Approved → dispatched"),
    "dispatch_to_delivery": N_("Dispatched → delivered"),
    "submit_to_delivery": N_("Submitted → delivered"),
}
# Filters a report does not take (the API answers 422 for them): the form leaves them out.
NOT_FILTERS = {"unmet-need": ("donor", "programme"), "stock": ("priority",)}


@dataclass(frozen=True)
class Column:
    """One column of a report's table: the row's key, its heading (a message id), how to show it."""

    key: str
    label: str
    kind: str = "number"  # number, money, text, region, category, stage, bool, date, donor, programme


COLUMNS: dict[str, tuple[Column, ...]] = {
    "unmet-need": (
        Column("region", N_("Region"), "region"),
        Column("category", N_("Equipment"), "category"),
        Column("requests", N_("Requests")),
        Column("requested", N_("Units requested")),
        Column("delivered", N_("Delivered")),
        Column("in_pipeline", N_("In the pipeline")),
        Column("unmet", N_("Unmet")),
        Column("waitlisted_requests", N_("Waitlisted requests")),
        Column("oldest_wait_days", N_("Oldest wait (days)")),
    ),
    "donor-fulfilment": (
        Column("donor_id", N_("Donor"), "donor"),
        Column("programme_id", N_("Programme"), "programme"),
        Column("units_proposed", N_("Proposed")),
        Column("units_approved", N_("Approved")),
        Column("units_dispatched", N_("Dispatched")),
        Column("units_delivered", N_("Delivered")),
        Column("units_rejected_on_receipt", N_("Rejected on receipt")),
        Column("value_delivered", N_("Value delivered"), "money"),
        Column("facilities_served", N_("Facilities served")),
        Column("median_days_approval_to_delivery", N_("Median days, approval → delivery")),
    ),
    "lead-times": (
        Column("stage", N_("Stage"), "stage"),
        Column("count", N_("Measured")),
        Column("p50_hours", N_("p50 (hours)")),
        Column("p90_hours", N_("p90 (hours)")),
    ),
    "stock": (
        Column("category", N_("Equipment"), "category"),
        Column("region", N_("Region"), "region"),
        Column("lots", N_("Lots")),
        Column("free_units", N_("Free units")),
        Column("max_days_idle", N_("Longest idle (days)")),
        Column("proposals_expiring_24h", N_("Proposals expiring in 24 h")),
        Column("units_expiring_24h", N_("Units expiring in 24 h")),
    ),
}
CHART_VALUE = {
    "unmet-need": "unmet",
    "donor-fulfilment": "units_delivered",
    "lead-times": "p50_hours",
    "stock": "free_units",
}


def reports_for(role: str) -> tuple[str, ...]:
    """The reports a role reads: donors every one but lead times (the API's scope, docs/allocation.md)."""
    return tuple(r for r in ALL_REPORTS if not (role == "donor" and r == "lead-times"))


def fixed_filter(role: str) -> str | None:
    """The filter a role's scope fixes (the API applies it): a region admin's region, a donor's donor."""
    return {"region_admin": "region", "donor": "donor"}.get(role)


def filters_for(report: str, role: str) -> tuple[str, ...]:
    """The filters the form shows for this report and role."""
    fixed = fixed_filter(role)
    return tuple(f for f in FILTERS if f not in NOT_FILTERS.get(report, ()) and f != fixed)


def chosen_filters(query: Mapping[str, str], report: str, role: str) -> dict[str, str]:
    """The filters from the page's query that this report and role take, each well formed (else left out)."""
    chosen: dict[str, str] = {}
    for name in filters_for(report, role):
        value = query.get(name, "").strip()
        if value and _well_formed(name, value):
            chosen[name] = value
    return chosen


def _well_formed(name: str, value: str) -> bool:
    if name in ("from", "to"):
        return bool(DATE.match(value))
    if name == "region":
        return get_region(value) is not None
    if name == "category":
        return get_category(value) is not None
    if name in ("donor", "programme"):
        return is_donor_id(value)
    if name == "priority":
        return value in PRIORITY_LABELS
    return value in ("true", "false")  # front_line


def query_string(filters: Mapping[str, str], **extra: str) -> str:
    return urlencode({**filters, **extra})


def export_file_name(report: str, fmt: str, *, scope: str | None, today: date) -> str:
    """``vidnova-unmet-need-UA-63-2026-12-02.csv``: the report, the scope a role fixes, the day."""
    parts = ["vidnova", report, *([scope] if scope else []), today.isoformat()]
    return "-".join(parts) + f".{fmt}"


def statement_months(today: date, count: int = STATEMENT_MONTHS) -> list[date]:
    """The first days of the months a statement can be asked for, newest first: this month, to date, first."""
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def statement_file_name(donor_id: str, month: str) -> str:
    """``vidnova-statement-jica-2026-11.pdf``."""
    return f"vidnova-statement-{donor_id}-{month}.pdf"


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its label, figure as shown, and length in per cent of the longest."""

    label: str
    value: float
    percent: float


@dataclass(frozen=True)
class ReportLabels:
    """A report's cells in the page's language: region, equipment, donor and programme names, stages."""

    locale: str
    catalog: CatalogLabels

    def _named(self, row: Mapping[str, Any], stem: str) -> str:
        name = row.get(f"{stem}_name_{self.locale}") or row.get(f"{stem}_name_en")
        return str(name or row.get(f"{stem}_id") or "—")

    def cell(self, column: Column, row: Mapping[str, Any]) -> str | None:
        """The text of a cell that is not a plain number (None: the template formats the number)."""
        value = row.get(column.key)
        if column.kind == "region":
            return self.catalog.region(str(value)) if value else "—"
        if column.kind == "category":
            return self.catalog.category(str(value)) if value else "—"
        if column.kind == "donor":
            return self._named(row, "donor")
        if column.kind == "programme":
            return self._named(row, "programme") if row.get("programme_id") else "—"
        if column.kind == "money":
            return f"{value} {row.get('currency') or ''}".strip() if value is not None else "—"
        return None

    def row_label(self, report: str, row: Mapping[str, Any]) -> str:
        """What a row is about, for its bar: region and equipment, donor and programme, or the stage."""
        if report == "unmet-need":
            return f"{self.catalog.region(row['region'])} · {self.catalog.category(row['category'])}"
        if report == "stock":
            return f"{self.catalog.category(row['category'])} · {self.catalog.region(row['region'])}"
        if report == "donor-fulfilment":
            programme = self._named(row, "programme") if row.get("programme_id") else None
            return " · ".join(p for p in (self._named(row, "donor"), programme) if p)
        return str(row.get("stage"))


def chart_bars(report: str, rows: Sequence[Mapping[str, Any]], labels: ReportLabels) -> list[Bar]:
    """The chart's bars: the largest figures first (lead times keep their stages' order), none for nulls."""
    key = CHART_VALUE[report]
    measured = [(labels.row_label(report, row), float(row[key])) for row in rows if row.get(key) is not None]
    if report != "lead-times":
        measured = sorted((m for m in measured if m[1] > 0), key=lambda m: -m[1])[:CHART_BARS]
    longest = max((value for _, value in measured), default=0.0)
    return [
        Bar(label, value, round(100 * value / longest, 1) if longest else 0.0) for label, value in measured
    ]


@dataclass(frozen=True)
class NeedRow:
    """One line of the donors' needs board: where, what, how much is unmet, and the lot form's prefill."""

    region: str
    category: str
    front_line: bool
    unmet: int
    waitlisted: int
    oldest_wait_days: int | None

    @property
    def offer_query(self) -> str:
        """``/lots/new``'s query: the category, and the region as the lot's eligible region."""
        return urlencode({"category": self.category, "region": self.region})


def needs_board(rows: Sequence[Mapping[str, Any]]) -> list[NeedRow]:
    """The unmet-need rows with anything unmet: the longest waits first, then the most units unmet."""
    board = [
        NeedRow(
            region=str(row["region"]),
            category=str(row["category"]),
            front_line=bool(row.get("front_line")),
            unmet=int(row.get("unmet") or 0),
            waitlisted=int(row.get("waitlisted_requests") or 0),
            oldest_wait_days=row.get("oldest_wait_days"),
        )
        for row in rows
        if (row.get("unmet") or 0) > 0
    ]
    return sorted(board, key=lambda n: (-(n.oldest_wait_days or 0), -n.unmet, n.region, n.category))


def page_labels(locale: str) -> dict[str, Any]:
    """What the report templates need beside the figures."""
    catalog = CatalogLabels(locale)
    return {
        "labels": catalog,
        "report_labels": ReportLabels(locale, catalog),
        "report_titles": TITLES,
        "chart_titles": CHART_TITLES,
        "stage_labels": STAGE_LABELS,
        "priority_labels": PRIORITY_LABELS,
        "columns": COLUMNS,
        "query_string": query_string,
    }
