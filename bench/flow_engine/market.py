"""One category's book: its ranked demands, classes and shelves, and the proposals the flow leads to."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bench.flow_engine.stock import ClassWalk, Distances, Shelves, take_front, take_units
from services.allocation.matching.values import Basis, Demand, Proposal, Supply, proposal


class CategoryBook:
    """Demands (in order of service) and free lots of one category, and what the flow gave each."""

    def __init__(
        self,
        demands: list[Demand],
        ranks: list[int],
        supplies: list[Supply],
        lot_type_of: list[int],
        class_of: list[int],
        fits: NDArray[np.bool_],
        distances: Distances,
    ) -> None:
        self.demands, self.ranks, self.supplies = demands, ranks, supplies
        self.class_of, self.fits, self.distances = class_of, fits, distances
        classes, types = fits.shape
        type_index = np.asarray(lot_type_of, dtype=np.intp)
        self.free_of_type = np.bincount(
            type_index, weights=[s.free for s in supplies], minlength=types
        ).astype(np.int64)
        lots_of_type = np.bincount(type_index, minlength=types)
        self.compatible_lots: list[int] = (fits.astype(np.int64) @ lots_of_type).tolist()
        first = np.unique(np.asarray(class_of, dtype=np.intp), return_index=True)[1]
        self.origin = [demands[i].region for i in first.tolist()]
        self.stock = Shelves(supplies, lot_type_of, distances)
        regions = sorted(set(self.origin))
        row = {region: i for i, region in enumerate(regions)}
        self.km = self.stock.km_to_types(regions, types)[[row[o] for o in self.origin]].reshape(
            classes, types
        )

    def bases(self, budget: NDArray[np.int64]) -> NDArray[np.int8]:
        """Per class x lot type, why the class takes that stock: 0 nearest, 1 moved, 2 exchanged.

        A class the flow gives a lot type farther than its nearest compatible one was moved: that
        nearer stock serves other requests. A class not moved, taking a lot type that is the nearest
        of a moved class ranked before it, got that stock by exchange.
        """
        top = np.iinfo(np.int64).max
        km = np.where(self.fits, self.km, top)
        nearest = km.min(axis=1, initial=top)[:, None]
        given = budget > 0
        moved = given & (km > nearest)
        was_moved = moved.any(axis=1)
        first_rank = np.full(len(was_moved), top, dtype=np.int64)
        np.minimum.at(first_rank, np.asarray(self.class_of, dtype=np.intp), np.asarray(self.ranks))
        # Per lot type: the first rank of a class moved off it (top if none was).
        moved_off = (km == nearest) & self.fits & was_moved[:, None]
        kept_since = np.where(moved_off, first_rank[:, None], top).min(axis=0, initial=top)
        exchanged = given & ~was_moved[:, None] & (kept_since[None, :] < first_rank[:, None])
        return np.where(moved, 1, np.where(exchanged, 2, 0)).astype(np.int8)

    def propose(
        self, served: NDArray[np.int64], budget: NDArray[np.int64], by_rank: list[list[Proposal] | None]
    ) -> None:
        """Each served demand's units, in order of service, from the shelves its class was given."""
        walks: dict[int, ClassWalk] = {}
        stock, demands, class_of, ranks = self.stock, self.demands, self.class_of, self.ranks
        ready, free, shelf_type, shelf_ready = stock.ready, stock.free, stock.shelf_type, stock.shelf_ready
        shelf_free, shelf_lots, shelf_front = stock.shelf_free, stock.shelf_lots, stock.shelf_front
        lot_ids = [s.lot_id for s in self.supplies]
        self.bases_of: list[list[Basis]] = _BASIS_NAMES[self.bases(budget)].tolist()
        chosen = np.flatnonzero(served)
        for d, units in zip(chosen.tolist(), served[chosen].tolist(), strict=True):
            demand, demand_class = demands[d], class_of[d]
            walk = walks.get(demand_class)
            if walk is None:
                walk = walks[demand_class] = self._walk(demand_class, budget[demand_class])
            needed_by = demand.needed_by.toordinal()
            head = (ranks[d] + 1, demand.priority, demand.front_line)
            # Most demands take all their units from the front lot of the first shelf they may use.
            shelf = walk.shelves[walk.start]
            lot_type = shelf_type[shelf]
            if (
                shelf_free[shelf] >= units
                and walk.budget[lot_type] >= units
                and free[shelf_lots[shelf][shelf_front[shelf]]] >= units
                and (shelf_ready[shelf] <= needed_by or needed_by < walk.earliest)
            ):
                lot = take_front(stock, shelf, units)
                walk.budget[lot_type] -= units
                taken = [(lot, units, lot_type)]
            else:
                taken = take_units(stock, walk, units, needed_by)
            out = []
            for lot, quantity, lot_type in taken:
                in_time = ready[lot] <= needed_by
                basis = (
                    walk.bases[lot_type]
                    if in_time or walk.bases[lot_type] != "nearest"
                    else "late_stock_only"
                )
                reason = (*head, walk.km[lot], in_time, walk.compatible_lots, basis)
                out.append(proposal(demand.request_id, lot_ids[lot], quantity, reason))
            if len(out) > 1:
                out.sort(key=lambda p: (p.reason.distance_km, p.lot_id))
            by_rank[head[0] - 1] = out

    def _walk(self, demand_class: int, budget: NDArray[np.int64]) -> ClassWalk:
        origin = self.origin[demand_class]
        walk = ClassWalk(self.stock.walk(budget > 0, origin), budget.tolist())
        walk.km = self.stock.lot_km(origin)
        walk.bases = self.bases_of[demand_class]
        walk.compatible_lots = self.compatible_lots[demand_class]
        return walk


_BASIS_NAMES = np.array(["nearest", "moved", "exchanged"], dtype=object)
