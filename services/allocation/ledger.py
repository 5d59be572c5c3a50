"""Stage counters of lots and demands, changed by single SQL statements that the database checks.

A proposal reserves units with ``UPDATE … WHERE committed + :units <= quantity`` and counts the rows it
changed: a stale read can never turn into an over-allocation, and the CHECK constraints on both tables
refuse one even if a statement here were wrong. Rows are always updated lots first, then demands, each
in id order, so concurrent transactions take row locks in one order and cannot deadlock on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation.domain import Counter, UnitMoves
from services.allocation.models import Demand, Lot
from shared.db import flushed_connection


class StockConflict(RuntimeError):
    """Free stock or unmet demand changed under a matching run; the run's transaction must be retried."""


def lot_committed() -> sa.ColumnElement[int]:
    """SQL for a lot's units that are not free: allocated at any stage or refused on delivery."""
    return (col(Lot.proposed) + col(Lot.approved) + col(Lot.dispatched) + col(Lot.delivered)) + col(
        Lot.rejected_on_delivery
    )


def demand_committed() -> sa.ColumnElement[int]:
    """SQL for a demand's units that are proposed, approved, dispatched or delivered."""
    return col(Demand.proposed) + col(Demand.approved) + col(Demand.dispatched) + col(Demand.delivered)


async def reserve(session: AsyncSession, *, lots: Mapping[UUID, int], demands: Mapping[UUID, int]) -> None:
    """Count units as proposed on each lot and demand, only where they still fit; else StockConflict."""
    connection = await flushed_connection(session)
    for lot_id in sorted(lots):
        units = lots[lot_id]
        fits = await connection.execute(
            sa.update(Lot)
            .where(
                col(Lot.id) == lot_id,
                col(Lot.withdrawn_at).is_(None),
                lot_committed() + units <= col(Lot.quantity),
            )
            .values(proposed=col(Lot.proposed) + units)
        )
        if _rowcount(fits) != 1:
            raise StockConflict(f"lot {lot_id} no longer has {units} free unit(s)")
    for request_id in sorted(demands):
        units = demands[request_id]
        fits = await connection.execute(
            sa.update(Demand)
            .where(
                col(Demand.request_id) == request_id,
                col(Demand.open),
                demand_committed() + units <= col(Demand.quantity),
            )
            .values(proposed=col(Demand.proposed) + units)
        )
        if _rowcount(fits) != 1:
            raise StockConflict(f"request {request_id} no longer has {units} unmet unit(s)")


async def shift(session: AsyncSession, *, lot_id: UUID, request_id: UUID, moves: UnitMoves) -> None:
    """Apply one transition's counter changes to its lot, then its demand."""
    lot_values: dict[str, Any] = _increments(Lot, moves.lot)
    if moves.lot_quantity:
        lot_values["quantity"] = col(Lot.quantity) + moves.lot_quantity
    connection = await flushed_connection(session)
    for table, key, values in (
        (Lot, col(Lot.id) == lot_id, lot_values),
        (Demand, col(Demand.request_id) == request_id, _increments(Demand, moves.demand)),
    ):
        if not values:
            continue
        changed = await connection.execute(sa.update(table).where(key).values(**values))
        if _rowcount(changed) != 1:
            raise LookupError(f"{table.__tablename__} row for {lot_id}/{request_id} is missing")


def _increments(table: type[Lot] | type[Demand], deltas: Mapping[Counter, int]) -> dict[str, Any]:
    return {name: getattr(table, name) + delta for name, delta in deltas.items() if delta}


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
