"""Exact optimum of the matching objective, to measure the engine against (pure, no I/O).

Maximise sum(weight[priority] x units) subject to each lot's free stock and each demand's
unmet quantity, over compatible (demand, lot) pairs only. Availability dates are a
preference, not a constraint, exactly as in the engine. This is a transportation problem:
its constraint matrix is a bipartite incidence matrix (totally unimodular), so the LP
optimum is integral and the LP value is the exact optimum. Demands and lots that are
interchangeable for the objective are aggregated into classes before HiGHS solves the LP.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from services.allocation.matching import PRIORITY_WEIGHT, Demand, Supply, is_compatible

_Item = TypeVar("_Item", Demand, Supply)


def optimal_weighted_units(demands: Sequence[Demand], supplies: Sequence[Supply]) -> float:
    """The largest priority-weighted number of units any allocation could propose."""
    rejected = {lot_id for demand in demands for lot_id in demand.excluded_lot_ids}
    total = 0.0
    for category in sorted({d.category for d in demands} & {s.category for s in supplies}):
        demand_classes = _classes(
            [d for d in demands if d.category == category and d.unmet > 0], _demand_class, lambda d: d.unmet
        )
        lot_classes = _classes(
            [s for s in supplies if s.category == category and s.free > 0],
            lambda s: (_lot_class(s), s.lot_id if s.lot_id in rejected else None),
            lambda s: s.free,
        )
        edges = _compatible_pairs(demand_classes, lot_classes)
        total += _solve(edges, demand_classes, lot_classes) if edges else 0.0
    return total


def _demand_class(demand: Demand) -> Hashable:
    return (_fit_class(demand), demand.priority)


def _fit_class(demand: Demand) -> Hashable:
    """Demands of one fit class may use exactly the same lots."""
    return (repr(sorted(demand.specs.items())), demand.region, demand.excluded_lot_ids)


def _lot_class(supply: Supply) -> Hashable:
    return (repr(sorted(supply.specs.items())), supply.eligible_regions)


def _compatible_pairs(
    demand_classes: Sequence[tuple[Demand, int]], lot_classes: Sequence[tuple[Supply, int]]
) -> list[tuple[int, int]]:
    """(demand class, lot class) index pairs that `is_compatible` allows."""
    fitting: dict[Hashable, list[int]] = {}
    edges: list[tuple[int, int]] = []
    for i, (demand, _) in enumerate(demand_classes):
        key = _fit_class(demand)
        if key not in fitting:
            fitting[key] = [j for j, (lot, _) in enumerate(lot_classes) if is_compatible(demand, lot)]
        edges.extend((i, j) for j in fitting[key])
    return edges


def _classes(
    items: Sequence[_Item], key: Callable[[_Item], Hashable], size: Callable[[_Item], int]
) -> list[tuple[_Item, int]]:
    """One representative per class of interchangeable items, with the class's total size."""
    totals: dict[Hashable, tuple[_Item, int]] = {}
    for item in items:
        representative, total = totals.get(key(item), (item, 0))
        totals[key(item)] = (representative, total + size(item))
    return list(totals.values())


def _solve(
    edges: Sequence[tuple[int, int]],
    demand_classes: Sequence[tuple[Demand, int]],
    lot_classes: Sequence[tuple[Supply, int]],
) -> float:
    """Solve the transportation LP over the compatible class pairs with HiGHS."""
    rows, columns = np.array(edges, dtype=np.int64).T
    variables = np.arange(len(edges))
    capacity = coo_matrix(
        (
            np.ones(2 * len(edges)),
            (np.concatenate([rows, len(demand_classes) + columns]), np.concatenate([variables, variables])),
        ),
        shape=(len(demand_classes) + len(lot_classes), len(edges)),
    ).tocsr()
    bounds = np.array([units for _, units in demand_classes] + [units for _, units in lot_classes])
    weights = np.array([PRIORITY_WEIGHT[demand_classes[i][0].priority] for i in rows], dtype=np.float64)
    result = linprog(-weights, A_ub=capacity, b_ub=bounds, bounds=(0, None), method="highs")
    if result.status != 0:
        raise RuntimeError(f"HiGHS could not solve the matching LP: {result.message}")
    return float(-result.fun)
