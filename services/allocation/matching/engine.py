"""Matching engine: proposes donors' free stock for unmet demand, each proposal with its reason.

Pure domain logic: plain frozen dataclasses in, proposals out; no I/O, no clock, no database.

Algorithm. Demands are ranked in the order of service (priority, front-line, needed_by,
submission), each category is its own market. Demands whose compatible lots are the same form a
class, interchangeable lots a lot type (`fit`). How many units each demand gets is what a greedy
with exchanges in the order of service gives it — demand units form a transversal matroid, so
that is exact: no allocation serves more priority-weighted units, for any weights that decrease
with priority, and within a priority earlier-ranked demands come first — but it is found by one
min-cost flow over classes and lot types (`exchange`). Which lots each class takes of the lot
types the flow gave it is dealt per lot type earliest needed_by first, from the nearest shelves'
units available by that date (`timing`; SPEC §4: stock in time before nearer stock that is late),
and each class hands its lots to its demands by prefix sums, earliest available to earliest needed
(`stock`, `market`). The demands are read once into columns: no step loops over them in Python
but that read, the dealing of lots per (class, lot type, needed_by) and the making of the proposals.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, date, datetime
from operator import attrgetter

import numpy as np
from numpy.typing import NDArray

from services.allocation.matching.exchange import Market, solve
from services.allocation.matching.fit import DemandType, lot_types_of, spec_keys, type_classes
from services.allocation.matching.market import CategoryBook, Columns
from services.allocation.matching.proposals import Demands, Proposals
from services.allocation.matching.stock import Distances
from services.allocation.matching.values import PRIORITY_RANK, Demand, Supply, service_order


def propose_allocations(
    demands: Sequence[Demand],
    supplies: Sequence[Supply],
    *,
    distance_km: Callable[[str, str], float],
) -> Proposals:
    """Propose free stock for unmet demand, maximising priority-weighted units served."""
    # Some 100k small objects and no cycles: the cyclic collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _propose(demands, supplies, distance_km)
    finally:
        if collecting:
            gc.enable()


def _propose(
    demands: Sequence[Demand], supplies: Sequence[Supply], distance_km: Callable[[str, str], float]
) -> Proposals:
    wanted = demands if min(map(_UNMET, demands), default=0) > 0 else [d for d in demands if d.unmet > 0]
    if not wanted:
        return Proposals.none()
    columns = read_columns(wanted)
    distances = Distances(distance_km)
    rejected_lots = {lot_id for lots in columns.rejected if lots for lot_id in lots}
    books: list[CategoryBook] = []
    markets: list[Market] = []
    for ranks, offered in _by_category(columns, supplies):
        lot_type_of, lot_types = lot_types_of(offered, (), rejected_lots)
        first, type_of = np.unique(columns.type_code[ranks], return_index=True, return_inverse=True)[1:]
        rows = columns.row[ranks[first]].tolist()
        types = [DemandType(columns.specs[i], columns.region[i], columns.rejected[i]) for i in rows]
        class_of_type, fits = type_classes(types, lot_types)
        class_of = np.asarray(class_of_type, dtype=np.intp)[type_of.reshape(-1)]
        book = CategoryBook(columns, ranks, offered, lot_type_of, class_of, fits, distances)
        books.append(book)
        markets.append(Market(class_of, columns.unmet[ranks], fits, book.km, book.free_of_type))
    parts = [
        book.propose(allocation.served, allocation.budget)
        for book, allocation in zip(books, solve(markets), strict=True)
    ]
    return Proposals.joined([part for part in parts if len(part)])


def read_columns(demands: Sequence[Demand]) -> Columns:
    """The demands' fields, one pass each, and their order of service (`service_order`).

    A demand type (category, specs, region and rejected lots) is coded in the order of service of
    its first demand, so each category's types come in that order too.
    """
    n = len(demands)
    priority, front_line, needed_by, submitted_at, category, specs, region, rejected, unmet = (
        list(map(attrgetter(name), demands)) for name in _FIELDS
    )
    keys = np.empty((4, n), dtype=np.float64)
    keys[0] = np.fromiter(map(PRIORITY_RANK.__getitem__, priority), np.float64, n)
    keys[1] = np.fromiter(front_line, np.float64, n) == 0  # front-line first
    ordinals = np.fromiter(map(date.toordinal, needed_by), np.int64, n)
    keys[2] = ordinals
    if None not in map(attrgetter("tzinfo"), submitted_at):
        keys[3] = np.fromiter(map(datetime.timestamp, submitted_at), np.float64, n)
    else:
        keys[3] = np.fromiter(map(_instant, submitted_at), np.float64, n)
    order = np.lexsort(keys[::-1])
    ordered = keys[:, order]
    if bool((ordered[:, 1:] == ordered[:, :-1]).all(axis=0).any()):  # equal keys: the request id decides
        order = np.array(sorted(range(n), key=lambda i: service_order(demands[i])), dtype=np.intp)
    codes = [_codes(column) for column in (category, spec_keys(specs), region, rejected)]
    key = codes[0]
    for code in codes[1:]:
        key = key * (int(code.max()) + 1) + code
    first, type_of = np.unique(key[order], return_index=True, return_inverse=True)[1:]
    by_first = np.empty(len(first), dtype=np.intp)
    by_first[np.argsort(first)] = np.arange(len(first))
    return Columns(
        row=order,
        demands=Demands(list(map(attrgetter("request_id"), demands)), priority, front_line),
        needed_by=ordinals,
        category=codes[0][order],
        category_names=list(dict.fromkeys(category)),
        specs=specs,
        region=region,
        rejected=rejected,
        unmet=np.array(unmet, dtype=np.int64)[order],
        type_code=by_first[type_of.reshape(-1)],
    )


_UNMET = attrgetter("unmet")
_FIELDS = (
    "priority",
    "front_line",
    "needed_by",
    "submitted_at",
    "category",
    "specs",
    "region",
    "excluded_lot_ids",
    "unmet",
)


def _codes(values: Sequence[Hashable]) -> NDArray[np.int64]:
    """Each value's number, in order of first appearance."""
    index = {value: i for i, value in enumerate(dict.fromkeys(values))}
    return np.fromiter(map(index.__getitem__, values), np.int64, len(values))


def _instant(at: datetime) -> float:
    """Seconds since the epoch, microseconds exact; a naive datetime read as UTC."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


def _by_category(columns: Columns, supplies: Sequence[Supply]) -> list[tuple[NDArray[np.intp], list[Supply]]]:
    """Per category with stock: its demands' ranks (from 0, in order), its lots with stock by id."""
    code = {name: i for i, name in enumerate(columns.category_names)}
    by_code = np.argsort(columns.category, kind="stable")
    bounds = np.cumsum(np.bincount(columns.category, minlength=len(code))).tolist()
    offered: list[list[Supply]] = [[] for _ in code]
    in_stock = [supply for supply in supplies if supply.free > 0 and supply.category in code]
    for supply in sorted(in_stock, key=_lot_order):
        offered[code[supply.category]].append(supply)
    starts = [0, *bounds[:-1]]
    return [
        (by_code[start:end], offered[i])
        for i, (start, end) in enumerate(zip(starts, bounds, strict=True))
        if offered[i]
    ]


def _lot_order(supply: Supply) -> int:
    return supply.lot_id.int
