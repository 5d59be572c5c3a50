"""One category's book: its ranked demands, classes and shelves, and the proposals the flow leads to."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from services.allocation.matching.stock import ClassWalk, Distances, Shelves, take_units
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
        nearer stock serves requests no other stock fits. Stock so kept, taken by a class that was
        not moved itself, was exchanged for it.
        """
        km = np.where(self.fits, self.km, np.iinfo(np.int64).max)
        nearest = km.min(axis=1, initial=np.iinfo(np.int64).max)[:, None]
        moved = (budget > 0) & (km > nearest)
        kept = ((km == nearest) & self.fits & moved.any(axis=1)[:, None]).any(axis=0)
        exchanged = (budget > 0) & ~moved.any(axis=1)[:, None] & kept[None, :]
        return np.where(moved, 1, np.where(exchanged, 2, 0)).astype(np.int8)

    def propose(
        self, served: Sequence[int], budget: NDArray[np.int64], by_rank: list[list[Proposal] | None]
    ) -> None:
        """Each served demand's units, in order of service, from the shelves its class was given."""
        walks: dict[int, ClassWalk] = {}
        stock, km, supplies, origin = self.stock, self.distances.km, self.supplies, self.origin
        ready, compatible, class_of = stock.ready, self.compatible_lots, self.class_of
        bases = self.bases(budget).tolist()
        for d, units in enumerate(served):
            if not units:
                continue
            demand, demand_class = self.demands[d], class_of[d]
            walk = walks.get(demand_class)
            if walk is None:
                given = budget[demand_class]
                walk = walks[demand_class] = ClassWalk(
                    stock.walk(given > 0, origin[demand_class]), given.tolist()
                )
            needed_by = demand.needed_by.toordinal()
            taken = take_units(stock, walk, units, needed_by)
            region, request_id = demand.region, demand.request_id
            why = bases[demand_class]
            reason_head = (self.ranks[d] + 1, demand.priority, demand.front_line)
            out = []
            for lot, quantity, lot_type in taken:
                supply = supplies[lot]
                in_time = ready[lot] <= needed_by
                basis: Basis = _BASES[why[lot_type]] if in_time or why[lot_type] else "late_stock_only"
                out.append(
                    proposal(
                        request_id,
                        supply.lot_id,
                        quantity,
                        (
                            *reason_head,
                            km[(region, supply.region)],
                            in_time,
                            compatible[demand_class],
                            basis,
                        ),
                    )
                )
            if len(out) > 1:
                out.sort(key=lambda p: (p.reason.distance_km, p.lot_id))
            by_rank[self.ranks[d]] = out


_BASES: tuple[Basis, ...] = ("nearest", "moved", "exchanged")
