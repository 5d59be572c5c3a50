"""Read the projection (narrowed in SQL where it is plain) and hand the facts to ``figures``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation.models import Donor, Programme
from services.allocation.reports import figures, statement, stock_figures
from services.allocation.reports.figures import AllocationFacts, Filters, LotFacts, RequestFacts
from services.allocation.reports.projection import ALLOCATIONS, LOTS, REQUESTS
from shared.db import read_one_snapshot
from shared.events.payloads import DonorStatementIssued

REPORTS = ("unmet-need", "donor-fulfilment", "lead-times", "stock")
T = TypeVar("T")


def _narrowed(
    table: sa.Table, filters: Filters, *, donor: bool = False, columns: Sequence[str] = ()
) -> sa.Select[Any]:
    query = sa.select(*(table.c[name] for name in columns)) if columns else sa.select(table)
    if filters.region is not None:
        query = query.where(table.c.region == filters.region)
    if filters.category is not None:
        query = query.where(table.c.category == filters.category)
    if donor and filters.donor_id is not None:
        query = query.where(table.c.donor_id == filters.donor_id)
    return query


def _in_period(column: sa.ColumnElement[Any], filters: Filters) -> list[sa.ColumnElement[bool]]:
    """``Filters.in_period`` in SQL: a time on a UTC day of the period (never a null time)."""
    conditions: list[sa.ColumnElement[bool]] = [column.is_not(None)]
    if filters.start is not None:
        conditions.append(column >= datetime.combine(filters.start, time(), UTC))
    if filters.end is not None and filters.end < date.max:
        conditions.append(column < datetime.combine(filters.end + timedelta(days=1), time(), UTC))
    return conditions


def _cohort(filters: Filters) -> sa.Select[Any]:
    """The requests ``figures._cohort`` may keep: submitted in the period, of the region, category and
    priority (the figures still apply every filter; this only spares reading the rest)."""
    query = _narrowed(REQUESTS, filters, columns=REQUEST_FACTS).where(
        *_in_period(REQUESTS.c.submitted_at, filters)
    )
    if filters.priority is not None:
        query = query.where(REQUESTS.c.priority == filters.priority)
    return query


def _of_cohort(filters: Filters) -> sa.Select[Any]:
    """Allocations the cohort's figures may read: only those of its requests when a period or a priority
    narrows it (region and category narrow allocations directly)."""
    query = _narrowed(ALLOCATIONS, filters, donor=True)
    if filters.start is not None or filters.end is not None or filters.priority is not None:
        cohort = _cohort(filters).with_only_columns(REQUESTS.c.request_id)
        query = query.where(ALLOCATIONS.c.request_id.in_(cohort))
    return query


def _stocked(filters: Filters) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """Lots ``stock_figures.stock`` may count (registered in the period, of the programme) and their
    allocations: a lot's go to requests anywhere, so they are narrowed by lot, not by region."""
    lots = _narrowed(LOTS, filters, donor=True).where(*_in_period(LOTS.c.registered_at, filters))
    if filters.programme_id is not None:
        lots = lots.where(LOTS.c.programme_id == filters.programme_id)
    anywhere = Filters(category=filters.category, donor_id=filters.donor_id)
    allocations = _narrowed(ALLOCATIONS, anywhere, donor=True)
    if (
        filters.region is not None
        or filters.start is not None
        or filters.end is not None
        or filters.programme_id
    ):
        allocations = allocations.where(ALLOCATIONS.c.lot_id.in_(lots.with_only_columns(LOTS.c.lot_id)))
    return lots, allocations


def _fulfilled(filters: Filters) -> sa.Select[Any]:
    """Allocations donor fulfilment may count: with a stage in the period (it counts each stage there)."""
    query = _narrowed(ALLOCATIONS, filters, donor=True)
    if filters.start is not None or filters.end is not None:
        stages = ("proposed_at", "approved_at", "dispatched_at", "delivered_at")
        in_period = (sa.and_(*_in_period(ALLOCATIONS.c[stage], filters)) for stage in stages)
        query = query.where(sa.or_(*in_period))
    return query


async def _facts(session: AsyncSession, query: sa.Select[Any], make: Callable[..., T]) -> list[T]:
    result = await session.execute(query)
    keys = list(result.keys())  # once, not a mapping per row: the rows are most of a report's time
    return [make(**dict(zip(keys, row, strict=True))) for row in result]


REQUEST_FACTS = tuple(field.name for field in fields(RequestFacts))


def _request(**row: Any) -> RequestFacts:
    return RequestFacts(**row)


def _allocation(**row: Any) -> AllocationFacts:
    return AllocationFacts(
        **{
            **row,
            "received_quantity": row["received_quantity"] or 0,
            "rejected_quantity": row["rejected_quantity"] or 0,
        }
    )


def _lot(**row: Any) -> LotFacts:
    return LotFacts(
        lot_id=row["lot_id"],
        donor_id=row["donor_id"],
        programme_id=row["programme_id"],
        category=row["category"],
        region=row["region"],
        quantity=row["quantity"] or 0,
        unit_value=row["unit_value"],
        currency=row["currency"],
        registered_at=row["registered_at"],
        withdrawn_at=row["withdrawn_at"],
        changed_at=row["changed_at"],
    )


async def report(
    *, session: AsyncSession, name: str, filters: Filters, now: datetime
) -> list[dict[str, Any]]:
    """The rows of one report, in one snapshot of the projection."""
    await read_one_snapshot(session)
    if name == "stock":
        # A lot's allocations go to requests anywhere: the region filter names where the lot is.
        lots_query, allocations_query = _stocked(filters)
        allocations = await _facts(session, allocations_query, _allocation)
        lots = await _facts(session, lots_query, _lot)
        return stock_figures.stock(lots, allocations, filters, now=now)
    if name == "unmet-need":
        allocations = await _facts(session, _of_cohort(filters), _allocation)
        requests = await _facts(session, _cohort(filters), _request)
        return figures.unmet_need(requests, allocations, filters, now=now)
    query = _of_cohort(filters) if name == "lead-times" else _fulfilled(filters)
    allocations = await _facts(session, query, _allocation)
    # The region and category filters name the request's, not where a lot is: only the donor narrows lots.
    everywhere = Filters(donor_id=filters.donor_id)
    lots_by_id = {
        lot.lot_id: lot for lot in await _facts(session, _narrowed(LOTS, everywhere, donor=True), _lot)
    }
    if name == "lead-times":
        requests = await _facts(session, _cohort(filters), _request)
        return figures.lead_times(requests, allocations, lots_by_id, filters)
    by_id: dict[UUID, RequestFacts] = {}
    if filters.priority is not None:  # the requests' priority is all donor fulfilment reads of them
        requests = await _facts(session, _narrowed(REQUESTS, filters, columns=REQUEST_FACTS), _request)
        by_id = {r.request_id: r for r in requests}
    rows = figures.donor_fulfilment(allocations, lots_by_id, by_id, filters)
    await _name_donors_and_programmes(session, rows)
    return rows


async def _name_donors_and_programmes(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Donor and programme names from the registry (null where an id is not registered)."""
    donors = {d.id: d for d in (await session.execute(sa.select(Donor))).scalars()}
    programmes = {p.id: p for p in (await session.execute(sa.select(Programme))).scalars()}
    for row in rows:
        donor = donors.get(row["donor_id"])
        programme = programmes.get(row["programme_id"]) if row["programme_id"] else None
        row["donor_name_en"] = donor.name_en if donor else None
        row["donor_name_uk"] = donor.name_uk if donor else None
        row["programme_name_en"] = programme.name_en if programme else None
        row["programme_name_uk"] = programme.name_uk if programme else None


async def donor_statement(
    *, session: AsyncSession, donor: Donor, month: str, now: datetime
) -> DonorStatementIssued:
    """The donor's statement for ``month`` (ValueError for a malformed month).

    The caller calls ``read_one_snapshot`` first, before its own reads (the donor), so all are one snapshot.
    """
    period = statement.month_period(month)
    since = datetime.combine(period.start, datetime.min.time(), tzinfo=now.tzinfo)
    # Only allocations with a stage on or after the month's first day can count in it.
    stages = (ALLOCATIONS.c.proposed_at, ALLOCATIONS.c.approved_at, ALLOCATIONS.c.dispatched_at)
    recent = sa.or_(*(column >= since for column in (*stages, ALLOCATIONS.c.delivered_at)))
    query = sa.select(ALLOCATIONS).where(ALLOCATIONS.c.donor_id == donor.id, recent)
    allocations = await _facts(session, query, _allocation)
    lots = await _facts(session, sa.select(LOTS).where(LOTS.c.donor_id == donor.id), _lot)
    request_ids = {a.request_id for a in allocations if a.request_id is not None and a.delivered_at}
    refs = await session.execute(
        sa.select(REQUESTS.c.request_id, REQUESTS.c.ref).where(REQUESTS.c.request_id.in_(request_ids))
    )
    programmes = await session.execute(sa.select(Programme).where(col(Programme.donor_id) == donor.id))
    names = statement.Names(
        donor_en=donor.name_en,
        donor_uk=donor.name_uk,
        programmes={p.id: (p.name_en, p.name_uk) for p in programmes.scalars()},
    )
    return statement.statement(
        donor_id=donor.id,
        month=month,
        names=names,
        allocations=allocations,
        lots={lot.lot_id: lot for lot in lots},
        request_refs={row.request_id: row.ref for row in refs if row.ref is not None},
        issued_at=now,
    )
