"""The exchange search, solved at once: one min-cost flow over classes of demands and lot types.

Demand units form a transversal matroid, so the allocation a greedy with exchanges builds (each
demand in order of service takes what it can, moving earlier demands to other lots that also fit
them) is the unique one of greatest weight for *any* weights that strictly decrease along the
order of service. This module finds it in one solve instead of one augmenting path at a time:
every demand is an arc from the source into its class, worth `W x (demands - rank)` per unit;
classes reach the lot types they fit, and lot types the sink through their free stock. A bypass
arc carries the units nobody can serve. How many units each demand gets is then exactly what the
greedy gives it (the count per demand of a maximum-weight basis is unique).

The class-to-lot-type arcs cost the distance in km from the class's region to the nearest stock
of the lot type. `W` exceeds the largest distance change of any cycle, so distance only chooses
among the allocations that serve the same units: it steers each class to its nearer stock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow


@dataclass
class Market:
    """One category's classes of demands and lot types, as the flow sees them.

    Its demands come in order of service; `class_of` gives each one's class, `fits[c, t]` says
    class c may use lot type t, `km[c, t]` how far from class c the nearest stock of type t is.
    """

    class_of: NDArray[np.intp]
    unmet: NDArray[np.int64]
    fits: NDArray[np.bool_]
    km: NDArray[np.int64]
    free_of_type: NDArray[np.int64]


@dataclass
class Allocation:
    """Units per demand (same order as the market's demands), and per class x lot type."""

    served: NDArray[np.int64]
    budget: NDArray[np.int64]


def solve(markets: list[Market]) -> list[Allocation]:
    """Serve each market's demands as the greedy with exchanges would, one min-cost flow per market."""
    return [_solve(market) for market in markets]


def _solve(market: Market) -> Allocation:
    source, sink, node = 0, 1, 2
    demands = len(market.unmet)
    classes, types = market.fits.shape
    first_type = node + classes
    pair_class, pair_type = np.nonzero(market.fits)
    class_units = np.bincount(market.class_of, weights=market.unmet, minlength=classes).astype(np.int64)
    total = int(market.unmet.sum())
    longest = int(market.km.max()) if market.km.size else 0
    worth = (longest + 1) * (first_type + types + 1)  # more than any cycle's change of distance
    # Only the order matters, and the demands come in order of service: the worth of demand d's
    # unit is `worth x (demands - d)`, strictly decreasing along that order.
    one = np.ones(1, dtype=np.int64)
    tails: list[NDArray[np.int64]] = [
        np.full(demands, source),
        node + pair_class,
        first_type + np.arange(types),
        one * source,
    ]
    heads: list[NDArray[np.int64]] = [
        node + market.class_of,
        first_type + pair_type,
        np.full(types, sink),
        one * sink,
    ]
    capacities: list[NDArray[np.int64]] = [
        market.unmet,
        np.minimum(class_units[pair_class], market.free_of_type[pair_type]),
        market.free_of_type,
        one * total,
    ]
    costs: list[NDArray[np.int64]] = [
        -worth * np.arange(demands, 0, -1, dtype=np.int64),
        market.km[pair_class, pair_type],
        np.zeros(types, dtype=np.int64),
        one * 0,
    ]
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails).astype(np.int32),
        np.concatenate(heads).astype(np.int32),
        np.concatenate(capacities).astype(np.int64),
        np.concatenate(costs).astype(np.int64),
    )
    flow.set_nodes_supplies(
        np.array([source, sink], dtype=np.int32), np.array([total, -total], dtype=np.int64)
    )
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"the matching flow could not be solved: {status}")
    flows = np.asarray(flow.flows(np.arange(demands + len(pair_class), dtype=np.int32)), dtype=np.int64)
    budget = np.zeros((classes, types), dtype=np.int64)
    budget[pair_class, pair_type] = flows[demands:]
    return Allocation(flows[:demands], budget)
