"""Matching engine: proposes donors' free stock for unmet demand, each proposal with its reason.

Pure domain logic: plain frozen dataclasses in, proposals out; no I/O, no clock, no database.

Algorithm. Demands are ranked in the order of service (priority, front-line, needed_by,
submission), each category is its own market. Demands whose compatible lots are the same form a
class, interchangeable lots a lot type (`fit`). How many units each demand gets is what a greedy
with exchanges in the order of service gives it — demand units form a transversal matroid, so
that is exact: no allocation serves more priority-weighted units, for any weights that decrease
with priority, and within a priority earlier-ranked demands come first — but it is found by one
min-cost flow over classes and lot types (`exchange`). Each demand then takes its units, in the
order of service, from the nearest shelves of the lot types the flow gave its class (`stock`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from operator import attrgetter

import numpy as np

from bench.flow_engine.fit import demand_classes, lot_types_of, spec_keys
from bench.flow_engine.market import CategoryBook
from bench.flow_engine.stock import Distances
from services.allocation.matching.exchange import Market, solve  # unchanged since: one copy
from services.allocation.matching.values import (
    PRIORITY_RANK,
    Demand,
    Proposal,
    Supply,
    service_order,
)

_ORDER_FIELDS = attrgetter("priority", "front_line", "needed_by", "submitted_at")
_CLASS_FIELDS = attrgetter("specs", "region", "excluded_lot_ids", "unmet")


def propose_allocations(
    demands: Sequence[Demand],
    supplies: Sequence[Supply],
    *,
    distance_km: Callable[[str, str], float],
) -> list[Proposal]:
    """Propose free stock for unmet demand, maximising priority-weighted units served."""
    # Some 200k small objects and no cycles: the cyclic collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _propose(demands, supplies, distance_km)
    finally:
        if collecting:
            gc.enable()


def _propose(
    demands: Sequence[Demand], supplies: Sequence[Supply], distance_km: Callable[[str, str], float]
) -> list[Proposal]:
    ranked = in_order_of_service([d for d in demands if d.unmet > 0])
    if not ranked:
        return []
    distances = Distances(distance_km)
    # One pass over the demands for what classes are made of; then each category takes its share.
    specs, regions, rejected, units = zip(*map(_CLASS_FIELDS, ranked), strict=True)
    keys = list(zip(spec_keys(list(specs)), regions, rejected, strict=True))
    unmet = np.array(units, dtype=np.int64)
    books: list[CategoryBook] = []
    markets: list[Market] = []
    for ranks, offered in _by_category(ranked, supplies):
        wanted = list(map(ranked.__getitem__, ranks))
        lot_type_of, lot_types = lot_types_of(offered, wanted)
        class_of, fits = demand_classes(wanted, lot_types, list(map(keys.__getitem__, ranks)))
        book = CategoryBook(wanted, ranks, offered, lot_type_of, class_of, fits, distances)
        books.append(book)
        markets.append(
            Market(np.asarray(class_of, dtype=np.intp), unmet[ranks], fits, book.km, book.free_of_type)
        )
    by_rank: list[list[Proposal] | None] = [None] * len(ranked)
    for book, allocation in zip(books, solve(markets), strict=True):
        book.propose(allocation.served, allocation.budget, by_rank)
    return [proposal for proposals in by_rank if proposals for proposal in proposals]


def in_order_of_service(demands: list[Demand]) -> list[Demand]:
    """The demands sorted by `service_order`, with numpy on encoded keys (Python's sort on ties)."""
    if not demands:
        return []
    priority, front_line, needed_by, submitted_at = zip(*map(_ORDER_FIELDS, demands), strict=True)
    n = len(demands)
    keys = np.empty((4, n), dtype=np.float64)
    keys[0] = np.fromiter(map(PRIORITY_RANK.__getitem__, priority), np.float64, n)
    keys[1] = np.fromiter(front_line, np.float64, n) == 0  # front-line first
    keys[2] = np.fromiter(map(date.toordinal, needed_by), np.float64, n)
    keys[3] = np.fromiter(map(_instant, submitted_at), np.float64, n)
    order = np.lexsort(keys[::-1])
    ordered = keys[:, order]
    if bool((ordered[:, 1:] == ordered[:, :-1]).all(axis=0).any()):
        return sorted(demands, key=service_order)  # equal keys: the request id decides
    return list(map(demands.__getitem__, order.tolist()))


def _instant(at: datetime) -> float:
    """Seconds since the epoch, microseconds exact; a naive datetime read as UTC."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


def _by_category(
    ranked: Sequence[Demand], supplies: Sequence[Supply]
) -> list[tuple[list[int], list[Supply]]]:
    """Per category with stock: its demands' ranks (from 0, in order), its lots with stock by id."""
    index: dict[str, int] = {}
    codes = np.array([index.setdefault(d.category, len(index)) for d in ranked], dtype=np.intp)
    by_code = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(index)))
    offered: list[list[Supply]] = [[] for _ in index]
    for supply in sorted(supplies, key=lambda s: s.lot_id.int):
        code = index.get(supply.category)
        if code is not None and supply.free > 0:
            offered[code].append(supply)
    return [
        (by_code[end - count : end].tolist(), offered[code])
        for code, (end, count) in enumerate(
            zip(bounds.tolist(), np.diff(bounds, prepend=0).tolist(), strict=True)
        )
        if offered[code]
    ]
