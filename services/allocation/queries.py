"""Read side of allocations: each with the request it serves, scoped to what the caller may see."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation.domain import may_read_allocation
from services.allocation.ledger import ROWS_PER_STATEMENT
from services.allocation.models import Allocation, Demand
from shared.auth import Principal
from shared.geography import get_region
from shared.pagination import fetch_page, where_equal
from shared.problems import Problem, invalid_field


async def get_visible_allocation(
    *, session: AsyncSession, allocation_id: UUID, principal: Principal
) -> tuple[Allocation, Demand]:
    """An allocation the caller may see, with its demand; 404 otherwise."""
    found = (
        await session.exec(
            select(Allocation, Demand)
            .join(Demand, col(Demand.request_id) == col(Allocation.request_id))
            .where(col(Allocation.id) == allocation_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if found is None or not may_read_allocation(
        principal, donor_id=found[0].donor_id, region=found[0].region
    ):
        raise Problem(404, "Not Found", f"no allocation {allocation_id}")
    return found[0], found[1]


async def by_ids_with_demands(session: AsyncSession, ids: list[UUID]) -> list[tuple[Allocation, Demand]]:
    """These allocations, in this order, each with its demand (a matching run's new proposals)."""
    found: dict[UUID, tuple[Allocation, Demand]] = {}
    for start in range(0, len(ids), ROWS_PER_STATEMENT):
        rows = await session.exec(
            select(Allocation, Demand)
            .join(Demand, col(Demand.request_id) == col(Allocation.request_id))
            .where(col(Allocation.id).in_(ids[start : start + ROWS_PER_STATEMENT]))
            .execution_options(populate_existing=True)
        )
        found.update((allocation.id, (allocation, demand)) for allocation, demand in rows.all())
    return [found[allocation_id] for allocation_id in ids]


async def with_demands(
    session: AsyncSession, allocations: list[Allocation]
) -> list[tuple[Allocation, Demand]]:
    """Pair allocations with their demands (for their public shape)."""
    ids = {allocation.request_id for allocation in allocations}
    if not ids:
        return []
    rows = await session.exec(
        select(Demand).where(col(Demand.request_id).in_(ids)).execution_options(populate_existing=True)
    )
    demands = {demand.request_id: demand for demand in rows.all()}
    return [(allocation, demands[allocation.request_id]) for allocation in allocations]


async def list_allocations(
    *,
    session: AsyncSession,
    principal: Principal,
    status: str | None,
    request_id: UUID | None,
    lot_id: UUID | None,
    donor_id: str | None,
    region: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Allocation, Demand]], str | None]:
    """Allocations newest first; donors see their own, region admins their region's."""
    if region is not None and get_region(region) is None:
        raise invalid_field("query.region", f"unknown region {region!r}")
    donor_id = principal.listing_donor(donor_id, of="allocations")
    region = principal.listing_region(region)
    statement = select(Allocation)
    statement = where_equal(
        statement,
        (col(Allocation.status), status),
        (col(Allocation.request_id), request_id),
        (col(Allocation.lot_id), lot_id),
        (col(Allocation.donor_id), donor_id),
        (col(Allocation.region), region),
    )
    rows, next_cursor = await fetch_page(
        session, statement, limit=limit, cursor=cursor, populate_existing=True
    )
    return await with_demands(session, rows), next_cursor
