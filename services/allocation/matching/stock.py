"""Free stock of one category, shelved by lot type and region, and how pieces are handed to demands.

A shelf holds the free lots of one lot type in one region, earliest available first; laid end to
end, the shelves put every free unit of the category at one position on a line (`line`: the lots
in that order). `Shelves.nearest` lists each lot type's shelves nearest first from a region, which
`timing` walks to deal each class its lots; `split` hands a class's pieces to its demands by
prefix sums, with no loop per unit or per demand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray


class Distances:
    """The injected distance function, called once per pair of regions."""

    def __init__(self, distance_km: Callable[[str, str], float]) -> None:
        self._distance_km = distance_km
        self.km: dict[tuple[str, str], float] = {}

    def __call__(self, origin: str, region: str) -> float:
        key = (origin, region)
        if key not in self.km:
            self.km[key] = 0.0 if origin == region else float(self._distance_km(origin, region))
        return self.km[key]

    def matrix(self, origins: Sequence[str], regions: Sequence[str]) -> NDArray[np.float64]:
        """km[i, j] from origins[i] to regions[j]."""
        return np.array([[self(o, r) for r in regions] for o in origins], dtype=np.float64).reshape(
            len(origins), len(regions)
        )


class Shelves:
    """The category's free lots on one line of units: shelf by shelf (region, then lot type), earliest first.

    `column[lot]` is the lot's region (a column of `km`, rows being the classes' regions);
    `start`/`end` are each lot's first and past-last unit on the line, `shelf_of[lot]` its shelf.
    """

    def __init__(
        self,
        lot_type: NDArray[np.intp],
        column: NDArray[np.intp],
        free: NDArray[np.int64],
        ready: NDArray[np.int64],
        km: NDArray[np.float64],
    ) -> None:
        self.km, self.lot_type = km, lot_type
        types = int(lot_type.max()) + 1
        key = column * types + lot_type
        # Lots come sorted by id: the last key (their position) breaks ties of availability.
        line = np.lexsort((np.arange(len(key)), ready, key))
        shelf_key, shelf_of_line = np.unique(key[line], return_inverse=True)
        self.shelf_type, self.shelf_column = shelf_key % types, shelf_key // types
        ends = np.cumsum(free[line])
        self.end = np.empty_like(ends)
        self.end[line] = ends
        self.start = self.end - free
        self.shelf_of = np.empty_like(line)
        self.shelf_of[line] = shelf_of_line.reshape(-1)
        self.shelf_start = np.zeros(len(shelf_key), dtype=np.int64)
        self.shelf_free = np.bincount(self.shelf_of, weights=free, minlength=len(shelf_key)).astype(np.int64)
        self.shelf_start[1:] = np.cumsum(self.shelf_free)[:-1]
        self.line = line  # lots in the order of the line
        self._nearest: dict[int, list[list[int]]] = {}

    def km_to_types(self, types: int) -> NDArray[np.int64]:
        """km[o, t]: from region row o to the nearest shelf of lot type t, in whole km."""
        km = np.full((self.km.shape[0], types), np.inf)
        for o in range(self.km.shape[0]):
            np.minimum.at(km[o], self.shelf_type, self.km[o, self.shelf_column])
        return np.rint(np.where(np.isinf(km), 0, km)).astype(np.int64)

    def nearest(self, row: int) -> list[list[int]]:
        """Per lot type, its shelves nearest first from region row `row` (then by region)."""
        shelves = self._nearest.get(row)
        if shelves is None:
            order = np.lexsort((self.shelf_column, self.km[row, self.shelf_column], self.shelf_type))
            bounds = np.searchsorted(self.shelf_type[order], np.arange(int(self.shelf_type.max()) + 2))
            ordered = order.tolist()
            shelves = self._nearest[row] = [
                ordered[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
            ]
        return shelves


def split(
    piece_class: NDArray[np.intp],
    piece_units: NDArray[np.int64],
    demand_class: NDArray[np.intp],
    demand_units: NDArray[np.int64],
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.int64]]:
    """Hand each class's pieces (in their order) to its demands (in theirs): piece, demand, units.

    Both come grouped by class with equal totals per class, so their running sums meet at every
    class's end, and cutting one line at both sets of bounds pairs them.
    """
    piece_end = np.cumsum(piece_units)
    demand_end = np.cumsum(demand_units)
    if piece_end.size and demand_end.size and piece_end[-1] != demand_end[-1]:
        raise AssertionError("pieces and demands must hold the same units")
    bounds = np.union1d(piece_end, demand_end)
    begins = np.concatenate([[0], bounds[:-1]]).astype(np.int64)
    piece = np.searchsorted(piece_end, begins, side="right")
    demand = np.searchsorted(demand_end, begins, side="right")
    if (piece_class[piece] != demand_class[demand]).any():
        raise AssertionError("a class's pieces must serve that class's demands")
    return piece, demand, bounds - begins
