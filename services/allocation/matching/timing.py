"""Which lots each class takes: as many units as can be available by their needed_by, then the nearest.

The flow (`exchange`) fixed the units of every demand and how many units each class takes of each
lot type (its budget). Which lots of a type go to which class decides whether they arrive in time
(SPEC §4: stock available by needed_by before nearer stock that is late). Each class's served
units, earliest needed first, are dealt to its lot types, first to the type whose free units are
available earliest on average (a claim: class, lot type, needed_by, units); then, per lot type, the
claims are met earliest needed_by first, each from the nearest shelves' units available by its
date, and what none had in time for them afterwards from the nearest shelves left. Every claim on
a lot type may take any of its lots, and a unit in time for one claim is in time for every
later-dated one, so meeting the earliest dates first with any unit in time serves the most claimed
units in time that type can (the exchange argument of earliest-deadline-first); nearest first
among those keeps the distance down.

Budgets are kept, so the reasons (`CategoryBook.bases`) stay those of the flow's answer. The split
of a class's dates across its lot types is fixed first, so the whole is not the most units in time
there can be: a min-cost flow over lots and dates (commit 9c61a7c) found 448,666 of the 465,062
units served at 100k (bench instance, seed 7) against 439,891 here, but took ~5x the engine's time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from services.allocation.matching.stock import Shelves, split

_DATE = 1 << 22  # above any date's ordinal: class x _DATE + date orders a class's dates
_NEVER = 1 << 62  # later than any date's ordinal


def assign_lots(
    stock: Shelves,
    budget: NDArray[np.int64],
    km: NDArray[np.int64],
    class_row: NDArray[np.intp],
    free: NDArray[np.int64],
    ready: NDArray[np.int64],
    demand_class: NDArray[np.intp],
    needed_by: NDArray[np.int64],
    units: NDArray[np.int64],
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.int64]]:
    """Class, lot and units of each piece: the lots each class takes, most units in time first.

    `budget[c, t]` is what the flow gave class c of lot type t, `km[c, t]` how far its nearest stock
    of that type is; `class_row[c]` is the class's region's row of the shelves' distances. The
    served demands are given by class, needed_by (ordinal) and units.
    """
    # Each class's dates (rungs), earliest first, and its units dealt to its lot types, the type whose
    # free units are available earliest on average first (then the nearest).
    rung_key, rung_of = np.unique(demand_class * _DATE + needed_by, return_inverse=True)
    rung_units = np.bincount(rung_of.reshape(-1), weights=units, minlength=len(rung_key)).astype(np.int64)
    pair_class, pair_type = np.nonzero(budget)
    types, lot_type = budget.shape[1], stock.lot_type
    free_of_type = np.maximum(np.bincount(lot_type, weights=free, minlength=types), 1)
    type_ready = np.bincount(lot_type, weights=free * ready, minlength=types) / free_of_type
    pairs = np.lexsort((pair_type, km[pair_class, pair_type], type_ready[pair_type], pair_class))
    pair_class, pair_type = pair_class[pairs], pair_type[pairs]
    pair, rung, claim_units = split(pair_class, budget[pair_class, pair_type], rung_key // _DATE, rung_units)
    claim_type, claim_class, claim_date = pair_type[pair], pair_class[pair], rung_key[rung] % _DATE
    # Per lot type, earliest date first (then the class of the earliest demand).
    order = np.lexsort((claim_class, claim_date, claim_type)).tolist()
    line, shelf_of = stock.line, stock.shelf_of
    shelf_first = np.searchsorted(shelf_of[line], np.arange(len(stock.shelf_type) + 1)).tolist()
    lots, left, ready_of = line.tolist(), free.tolist(), ready.tolist()
    front = shelf_first[:-1]  # each shelf's first lot (on the line) with units left
    nearest: list[list[list[int]]] = [[] for _ in range(stock.km.shape[0])]
    for row in np.unique(class_row[pair_class]).tolist():  # only the regions of classes served
        nearest[row] = stock.nearest(row)
    rows = class_row.tolist()
    kinds, classes, dates, wanted = (a.tolist() for a in (claim_type, claim_class, claim_date, claim_units))
    owner: list[int] = []
    taken_lots: list[int] = []
    taken: list[int] = []

    def take(i: int, by: int) -> int:
        """Claim i's units from its class's nearest shelves, units available by `by` only; units missing."""
        need: int = wanted[i]
        c = classes[i]
        for shelf in nearest[rows[c]][kinds[i]]:
            at, end = front[shelf], shelf_first[shelf + 1]
            while at < end and ready_of[lots[at]] <= by:
                lot = lots[at]
                units_left = left[lot]
                units = need if need < units_left else units_left
                owner.append(c)
                taken_lots.append(lot)
                taken.append(units)
                left[lot] = units_left - units
                need -= units
                if units == units_left:
                    at += 1
                if not need:
                    break
            front[shelf] = at
            if not need:
                break
        wanted[i] = need
        return need

    late = [i for i in order if take(i, dates[i])]
    for i in late:  # nothing in time was left for these: the nearest units left, in the same order
        take(i, _NEVER)
    n = len(free)
    pieces = np.array(owner, dtype=np.int64) * n + np.array(taken_lots, dtype=np.int64)
    key, where = np.unique(pieces, return_inverse=True)
    merged = np.bincount(where.reshape(-1), weights=taken, minlength=len(key)).astype(np.int64)
    return key // n, key % n, merged
