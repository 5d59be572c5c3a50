"""Stage counters of lots and demands, changed by single SQL statements that the database checks.

A proposal reserves units with ``UPDATE … WHERE committed + :units <= quantity`` and counts the rows it
changed: a stale read can never turn into an over-allocation, and the CHECK constraints on both tables
refuse one even if a statement here were wrong. A matching run reserves for every row that takes the
same number of units in one statement (up to ``ROWS_PER_STATEMENT`` of them), under its category's lock,
lots first, then demands; a transition shifts one allocation's lot, then its demand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
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
    lot_fits = (col(Lot.withdrawn_at).is_(None),)
    for units, ids in _by_units(lots):
        changed = await connection.execute(
            sa.update(Lot)
            .where(col(Lot.id).in_(ids), *lot_fits, lot_committed() + units <= col(Lot.quantity))
            .values(proposed=col(Lot.proposed) + units)
        )
        if (missing := len(ids) - _rowcount(changed)) != 0:
            raise StockConflict(f"{missing} lot(s) among {_ids(ids)} no longer have {units} free unit(s)")
    for units, ids in _by_units(demands):
        changed = await connection.execute(
            sa.update(Demand)
            .where(
                col(Demand.request_id).in_(ids),
                col(Demand.open),
                demand_committed() + units <= col(Demand.quantity),
            )
            .values(proposed=col(Demand.proposed) + units)
        )
        if (missing := len(ids) - _rowcount(changed)) != 0:
            raise StockConflict(
                f"{missing} request(s) among {_ids(ids)} no longer have {units} unmet unit(s)"
            )


async def set_waitlisted_reported(session: AsyncSession, reported: Mapping[UUID, int]) -> None:
    """Record the units last reported waiting per request, one statement per number of units."""
    connection = await flushed_connection(session)
    for units, ids in _by_units(reported):
        await connection.execute(
            sa.update(Demand).where(col(Demand.request_id).in_(ids)).values(waitlisted_reported=units)
        )


ROWS_PER_STATEMENT = 500  # ids in one IN (…): far below SQLite's and PostgreSQL's limits on parameters


def _by_units(units_by_id: Mapping[UUID, int]) -> Iterator[tuple[int, Sequence[UUID]]]:
    """Ids grouped by their number of units, in id order, at most ``ROWS_PER_STATEMENT`` in a group."""
    grouped: defaultdict[int, list[UUID]] = defaultdict(list)
    for row_id in sorted(units_by_id):
        grouped[units_by_id[row_id]].append(row_id)
    for units in sorted(grouped):
        ids = grouped[units]
        for start in range(0, len(ids), ROWS_PER_STATEMENT):
            yield units, ids[start : start + ROWS_PER_STATEMENT]


def _ids(ids: Sequence[UUID]) -> str:
    return str(ids[0]) if len(ids) == 1 else f"{len(ids)} ({ids[0]} …)"


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
