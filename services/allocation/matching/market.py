"""One category's book: its ranked demands, classes and shelves, and the proposals the flow leads to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

import numpy as np
from numpy.typing import NDArray

from services.allocation.matching.proposals import Demands, Proposals
from services.allocation.matching.stock import Distances, Shelves, split
from services.allocation.matching.timing import assign_lots
from services.allocation.matching.values import Supply


@dataclass
class Columns:
    """The open demands, one field per column, and their order of service.

    Lists and `needed_by` (ordinals) are by input position; `row[rank]` is the input position of
    the demand of that rank (from 0), and the other arrays are by rank.
    """

    row: NDArray[np.intp]
    demands: Demands
    needed_by: NDArray[np.int64]
    category: NDArray[np.int64]
    category_names: list[str]
    specs: list[Mapping[str, object]]
    region: list[str]
    rejected: list[frozenset[UUID]]
    unmet: NDArray[np.int64]
    type_code: NDArray[np.intp]


class CategoryBook:
    """Demands (in order of service) and free lots of one category, and what the flow gave each."""

    def __init__(
        self,
        columns: Columns,
        ranks: NDArray[np.intp],
        supplies: list[Supply],
        lot_type_of: list[int],
        class_of: NDArray[np.intp],
        fits: NDArray[np.bool_],
        distances: Distances,
    ) -> None:
        self.columns, self.supplies = columns, supplies
        self.ranks = ranks
        self.rows = columns.row[ranks]  # each demand's input position
        self.class_of, self.fits = np.asarray(class_of, dtype=np.intp), fits
        classes, types = fits.shape
        lot_type = np.asarray(lot_type_of, dtype=np.intp)
        self.free = free = np.fromiter((s.free for s in supplies), np.int64, len(supplies))
        self.ready = np.fromiter((s.available_from.toordinal() for s in supplies), np.int64, len(supplies))
        self.free_of_type = np.bincount(lot_type, weights=free, minlength=types).astype(np.int64)
        lots_of_type = np.bincount(lot_type, minlength=types)
        self.compatible_lots = fits.astype(np.int64) @ lots_of_type
        first = np.unique(self.class_of, return_index=True)[1]
        origins = list(map(columns.region.__getitem__, self.rows[first].tolist()))
        row = {region: i for i, region in enumerate(sorted(set(origins)))}
        self.row_of_class = [row[o] for o in origins]
        lot_regions = [s.region for s in supplies]
        column = {region: i for i, region in enumerate(sorted(set(lot_regions)))}
        km = distances.matrix(list(row), list(column))
        self.stock = Shelves(lot_type, np.array([column[r] for r in lot_regions]), free, self.ready, km)
        self.km = self.stock.km_to_types(types)[self.row_of_class].reshape(classes, types)

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
        np.minimum.at(first_rank, self.class_of, self.ranks)
        # Per lot type: the first rank of a class moved off it (top if none was).
        moved_off = (km == nearest) & self.fits & was_moved[:, None]
        kept_since = np.where(moved_off, first_rank[:, None], top).min(axis=0, initial=top)
        exchanged = given & ~was_moved[:, None] & (kept_since[None, :] < first_rank[:, None])
        return np.where(moved, 1, np.where(exchanged, 2, 0)).astype(np.int8)

    def propose(self, served: NDArray[np.int64], budget: NDArray[np.int64]) -> Proposals:
        """Each served demand's units from the lots its class claimed.

        A class's pieces go to its demands earliest available to earliest needed, nearest first
        where that does not matter. Proposals come in order of service, each demand's nearest lot first.
        """
        stock = self.stock
        chosen = np.flatnonzero(served)
        if not chosen.size:
            return Proposals.none()
        columns = self.columns
        needed_by = columns.needed_by[self.rows[chosen]]
        chosen_class = self.class_of[chosen]
        # Served demands grouped by class, each class's by needed_by (then in order of service), and
        # its pieces by when they are available: pairing both in that order serves the most units in
        # time. Pieces available before the class's earliest needed_by are in time for all of its
        # demands: among those the nearest go first.
        by_class = np.lexsort((needed_by, chosen_class))
        earliest = np.zeros(len(self.row_of_class), dtype=np.int64)
        served_classes, first = np.unique(chosen_class[by_class], return_index=True)
        earliest[served_classes] = needed_by[by_class[first]]
        class_row = np.asarray(self.row_of_class, dtype=np.intp)
        lot_column = stock.shelf_column[stock.shelf_of]
        owner, lots, units = assign_lots(
            stock, budget, self.km, class_row, self.free, self.ready, chosen_class, needed_by, served[chosen]
        )
        lot_km = stock.km[class_row[owner], lot_column[lots]]
        available = np.maximum(self.ready[lots], earliest[owner])
        order = np.lexsort((lots, lot_km, available, owner))
        piece, demand, taken = split(
            owner[order], units[order], chosen_class[by_class], served[chosen][by_class]
        )
        piece, demand = order[piece], by_class[demand]
        lot, km = lots[piece], lot_km[piece]
        in_time = self.ready[lot] <= needed_by[demand]
        basis = self.bases(budget)[owner[piece], stock.lot_type[lot]]
        basis = np.where((basis == 0) & ~in_time, 3, basis)
        out = np.lexsort((lot, km, demand))
        demand, lot, taken, km = demand[out], lot[out], taken[out], km[out]
        in_time, basis = in_time[out], basis[out]
        return Proposals(
            columns.demands,
            [s.lot_id for s in self.supplies],
            demand=self.rows[chosen[demand]],
            lot=lot,
            quantity=taken,
            rank=self.ranks[chosen[demand]] + 1,
            distance_km=km,
            available_by_needed_by=in_time,
            compatible_lots=self.compatible_lots[owner[piece][out]],
            basis=basis.astype(np.int8),
        )
