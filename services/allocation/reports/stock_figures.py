"""The stock report's figures: free units by category and location region (pure, like ``figures``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from services.allocation.reports.figures import PIPELINE, AllocationFacts, Filters, LotFacts, is_front_line

HOLDS_STOCK = (*PIPELINE, "delivered")
EXPIRING_WITHIN = timedelta(hours=24)


def stock(
    lots: Iterable[LotFacts], allocations: Iterable[AllocationFacts], filters: Filters, *, now: datetime
) -> list[dict[str, Any]]:
    """By category x location region, over lots registered in the period: free units, days idle, proposals
    expiring within 24 h."""
    by_lot: dict[UUID, list[AllocationFacts]] = defaultdict(list)
    for allocation in allocations:
        if allocation.lot_id is not None:
            by_lot[allocation.lot_id].append(allocation)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for lot in lots:
        if (
            lot.category is None
            or not filters.in_period(lot.registered_at)
            or not filters.place(lot.region, lot.category)
            or (filters.donor_id is not None and lot.donor_id != filters.donor_id)
            or (filters.programme_id is not None and lot.programme_id != filters.programme_id)
        ):
            continue
        assert lot.region is not None
        mine = by_lot.get(lot.lot_id, [])
        held = sum(a.quantity for a in mine if a.stage in HOLDS_STOCK)
        free = 0 if lot.withdrawn_at is not None else max(0, lot.quantity - held)
        last = max((t for t in [lot.changed_at, *(a.last_event_at for a in mine)] if t), default=None)
        expiring = [
            a
            for a in mine
            if a.stage == "proposed" and a.expires_at and a.expires_at <= now + EXPIRING_WITHIN
        ]
        row = rows.setdefault(
            (lot.category, lot.region),
            {
                "category": lot.category,
                "region": lot.region,
                "front_line": is_front_line(lot.region),
                "lots": 0,
                "free_units": 0,
                "max_days_idle": None,
                "proposals_expiring_24h": 0,
                "units_expiring_24h": 0,
            },
        )
        row["lots"] += 1
        row["free_units"] += free
        if free > 0 and last is not None:
            row["max_days_idle"] = max((now - last).days, row["max_days_idle"] or 0)
        row["proposals_expiring_24h"] += len(expiring)
        row["units_expiring_24h"] += sum(a.quantity for a in expiring)
    return [rows[key] for key in sorted(rows)]
