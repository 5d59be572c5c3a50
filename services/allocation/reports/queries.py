"""Read the projection (narrowed in SQL where it is plain) and hand the facts to ``figures``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation.models import Donor, Programme
from services.allocation.reports import figures, stock_figures
from services.allocation.reports.figures import AllocationFacts, Filters, LotFacts, RequestFacts
from services.allocation.reports.projection import ALLOCATIONS, LOTS, REQUESTS
from shared.db import read_one_snapshot

REPORTS = ("unmet-need", "donor-fulfilment", "lead-times", "stock")
T = TypeVar("T")


def _narrowed(table: sa.Table, filters: Filters, *, donor: bool = False) -> sa.Select[Any]:
    query = sa.select(table)
    if filters.region is not None:
        query = query.where(table.c.region == filters.region)
    if filters.category is not None:
        query = query.where(table.c.category == filters.category)
    if donor and filters.donor_id is not None:
        query = query.where(table.c.donor_id == filters.donor_id)
    return query


async def _facts(session: AsyncSession, query: sa.Select[Any], make: Callable[..., T]) -> list[T]:
    result = await session.execute(query)
    return [make(**row) for row in result.mappings()]


def _request(**row: Any) -> RequestFacts:
    return RequestFacts(
        request_id=row["request_id"],
        region=row["region"],
        category=row["category"],
        priority=row["priority"],
        quantity=row["quantity"],
        submitted_at=row["submitted_at"],
        waitlisted_at=row["waitlisted_at"],
        ended_as=row["ended_as"],
    )


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
        anywhere = Filters(category=filters.category, donor_id=filters.donor_id)
        allocations = await _facts(session, _narrowed(ALLOCATIONS, anywhere, donor=True), _allocation)
        lots = await _facts(session, _narrowed(LOTS, filters, donor=True), _lot)
        return stock_figures.stock(lots, allocations, filters, now=now)
    allocations = await _facts(session, _narrowed(ALLOCATIONS, filters, donor=True), _allocation)
    if name == "unmet-need":
        requests = await _facts(session, _narrowed(REQUESTS, filters), _request)
        return figures.unmet_need(requests, allocations, filters, now=now)
    # The region and category filters name the request's, not where a lot is: only the donor narrows lots.
    everywhere = Filters(donor_id=filters.donor_id)
    lots_by_id = {
        lot.lot_id: lot for lot in await _facts(session, _narrowed(LOTS, everywhere, donor=True), _lot)
    }
    requests = await _facts(session, _narrowed(REQUESTS, filters), _request)
    if name == "lead-times":
        return figures.lead_times(requests, allocations, lots_by_id, filters)
    by_id: dict[UUID, RequestFacts] = {r.request_id: r for r in requests}
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
