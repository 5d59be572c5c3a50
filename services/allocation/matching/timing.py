"""Which lots each class takes: as many units as can be available by their needed_by, then the nearest.

The first flow (`exchange`) fixed the units of every demand and the lot types each class may take
(its budget). Which lots of those types go to which class decides whether they arrive in time
(SPEC §4: stock available by needed_by before nearer stock that is late), and that is a second,
small min-cost flow per category, over lots rather than demands:

- every lot feeds, through its free stock, the classes budgeted for its type;
- a class's served demands wait on a ladder of their needed_by dates, earliest at the foot, each
  rung draining the units its demands were given; stock in time for one date is in time for every
  later one, so the ladder carries units up;
- a lot enters a class's ladder at the first date it is available by, at the km from the class to
  the lot, or at the foot (so for any of its demands) at that km plus a penalty greater than any
  cycle's change of distance, when it is late for the earliest.

So the fewest units are late, and among the answers with that many the fewest unit-km travel. Each
class keeps its total (every demand its units) and its lot types; only how many units it takes of
each type may shift between classes sharing the type. Pairing each class's lots with its demands
earliest available to earliest needed (`market`) then serves at least as many units in time as the
flow counted.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

_DATE = 1 << 22  # above any date's ordinal: class x _DATE + date orders a ladder per class


def assign_lots(
    budget: NDArray[np.int64],
    lot_type: NDArray[np.intp],
    free: NDArray[np.int64],
    ready: NDArray[np.int64],
    km: NDArray[np.float64],
    class_row: NDArray[np.intp],
    lot_column: NDArray[np.intp],
    demand_class: NDArray[np.intp],
    needed_by: NDArray[np.int64],
    units: NDArray[np.int64],
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.int64]]:
    """Class, lot and units of each piece: the lots each class takes, most units in time first.

    `budget[c, t]` is what the first flow gave class c of lot type t; lots are described by their
    type, free units and the ordinal they are available from; `km[class_row[c], lot_column[lot]]`
    is from class c to the lot. The served demands are given by class, needed_by (ordinal) and units.
    """
    pair_class, pair_type = np.nonzero(budget)
    by_type = np.argsort(lot_type, kind="stable")
    lots_of_type = np.bincount(lot_type, minlength=budget.shape[1])
    type_start = np.concatenate([[0], np.cumsum(lots_of_type)[:-1]])
    counts = lots_of_type[pair_type]
    pair = np.repeat(np.arange(len(pair_type)), counts)
    offset = np.arange(len(pair)) - np.repeat(np.cumsum(counts) - counts, counts)
    arc_lot = by_type[type_start[pair_type][pair] + offset]
    arc_class = pair_class[pair]
    arc_km = np.rint(km[class_row[arc_class], lot_column[arc_lot]]).astype(np.int64)
    # The ladders: one rung per class and needed_by, classes in order, dates ascending.
    rung_key, rung_of = np.unique(demand_class * _DATE + needed_by, return_inverse=True)
    rung_units = np.bincount(rung_of.reshape(-1), weights=units, minlength=len(rung_key)).astype(np.int64)
    rung_class = rung_key // _DATE
    entry = np.searchsorted(rung_key, arc_class * _DATE + ready[arc_lot])
    in_time = entry < len(rung_key)
    in_time[in_time] = rung_class[entry[in_time]] == arc_class[in_time]
    foot = np.searchsorted(rung_key, arc_class * _DATE)
    late = ready[arc_lot] > rung_key[foot] % _DATE
    climb = np.flatnonzero(rung_class[1:] == rung_class[:-1])

    lots, rungs = len(free), len(rung_key)
    source, sink, first_lot, first_rung = 0, 1, 2, 2 + lots
    total = int(units.sum())
    penalty = (int(arc_km.max(initial=0)) + 1) * (first_rung + rungs + 1)
    timely, tardy = np.flatnonzero(in_time), np.flatnonzero(late)
    tails = [
        np.full(lots, source),
        first_lot + arc_lot[timely],
        first_lot + arc_lot[tardy],
        first_rung + climb,
        first_rung + np.arange(rungs),
    ]
    heads = [
        first_lot + np.arange(lots),
        first_rung + entry[timely],
        first_rung + foot[tardy],
        first_rung + climb + 1,
        np.full(rungs, sink),
    ]
    capacities = [free, free[arc_lot[timely]], free[arc_lot[tardy]], np.full(len(climb), total), rung_units]
    costs = [
        np.zeros(lots, dtype=np.int64),
        arc_km[timely],
        arc_km[tardy] + penalty,
        np.zeros(len(climb), dtype=np.int64),
        np.zeros(rungs, dtype=np.int64),
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
        raise RuntimeError(f"the lots-to-classes flow could not be solved: {status}")
    arcs = np.arange(lots, lots + len(timely) + len(tardy), dtype=np.int32)
    flows = np.asarray(flow.flows(arcs), dtype=np.int64)
    taken = np.zeros(len(arc_lot), dtype=np.int64)
    taken[timely] = flows[: len(timely)]
    taken[tardy] += flows[len(timely) :]
    pieces = np.flatnonzero(taken)
    return arc_class[pieces], arc_lot[pieces], taken[pieces]
