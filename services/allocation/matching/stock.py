"""Free stock of one category, shelved by lot type and region, and the nearest free shelf for a demand.

A shelf holds the free lots of one lot type in one region, earliest available first. For each class
of demands and each origin region the compatible shelves are listed once, nearest region first (in a
region, the least contested lot type first); serving a demand then walks that list from the first
shelf that still has stock, so the cost per demand does not grow with the number of lots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from services.allocation.matching.values import Supply

_NEVER = 1 << 62  # later than any date's ordinal


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

    def nearest_first(self, origin: str, regions: Sequence[str]) -> list[str]:
        """Regions by distance from the origin, then by code."""
        return sorted(regions, key=lambda region: (self(origin, region), region))


class FreeStock:
    """Free units per lot, per shelf (lot type x region) and per lot type; shrinks as demands take them."""

    def __init__(
        self,
        supplies: Sequence[Supply],
        lot_type_of: Sequence[int],
        contention: Sequence[float],
        distances: Distances,
    ) -> None:
        self.supplies, self.distances = supplies, distances
        self.free = [s.free for s in supplies]
        self.ready = [s.available_from.toordinal() for s in supplies]
        free_of_type = np.bincount(lot_type_of, weights=self.free, minlength=len(contention)).astype(np.int64)
        self.free_of_type: list[int] = free_of_type.tolist()
        self.in_stock = free_of_type > 0  # by lot type, for the exchange search's vector operations
        grouped: dict[tuple[int, str], list[int]] = {}
        for lot, supply in enumerate(supplies):
            grouped.setdefault((lot_type_of[lot], supply.region), []).append(lot)
        shelves = sorted(grouped.items(), key=lambda kv: (contention[kv[0][0]], kv[0]))
        self.shelf_type = [lot_type for (lot_type, _), _ in shelves]
        self.shelf_region = [region for (_, region), _ in shelves]
        self.shelf_lots = [
            sorted(lots, key=lambda lot: (self.ready[lot], supplies[lot].lot_id)) for _, lots in shelves
        ]
        self.shelf_front = [0] * len(shelves)
        self.shelf_free = [sum(self.free[lot] for lot in lots) for lots in self.shelf_lots]
        self.shelf_ready = [self.ready[lots[0]] for lots in self.shelf_lots]
        self.shelves_of_type: dict[int, list[int]] = {}
        for shelf, lot_type in enumerate(self.shelf_type):
            self.shelves_of_type.setdefault(lot_type, []).append(shelf)
        self.regions = sorted(set(self.shelf_region))
        column = {region: i for i, region in enumerate(self.regions)}
        self._shelf_column = np.array([column[r] for r in self.shelf_region], dtype=np.intp)
        self._shelf_type_array = np.array(self.shelf_type, dtype=np.intp)
        self._orders: dict[str, NDArray[np.intp]] = {}
        # Per (demand class, origin): its shelves nearest first, and [first with stock, earliest ready].
        self._candidates: dict[tuple[int, str], tuple[list[int], list[int]]] = {}

    def nearest_shelf(
        self, fit_matrix: NDArray[np.bool_], demand_class: int, origin: str, needed_by: int
    ) -> int:
        """The nearest shelf with stock the class fits, available by `needed_by` if any is; -1 if none."""
        key = (demand_class, origin)
        entry = self._candidates.get(key)
        if entry is None:
            order = self._order_from(origin)
            fits = fit_matrix[demand_class][self._shelf_type_array[order]]
            entry = self._candidates[key] = (order[fits].tolist(), [0, 0])
        shelves, state = entry
        shelf_free, start, end = self.shelf_free, state[0], len(shelves)
        while start < end and shelf_free[shelves[start]] == 0:
            start += 1
        state[0] = start
        if start == end:
            return -1
        # state[1] is at most the earliest date any listed shelf is ready (shelves only get later):
        # a demand needed before it has no stock in time, and the scan for some can be skipped.
        if needed_by >= state[1]:
            shelf_ready, earliest = self.shelf_ready, _NEVER
            for i in range(start, end):
                shelf = shelves[i]
                if shelf_free[shelf]:
                    ready = shelf_ready[shelf]
                    if ready <= needed_by:
                        return shelf
                    earliest = ready if ready < earliest else earliest
            state[1] = earliest
        return shelves[start]

    def nearest_shelf_of_type(self, lot_type: int, origin: str, needed_by: int) -> int:
        """The shelf of one lot type to take from: available in time first, then nearest."""
        return min(
            self.shelves_of_type[lot_type],
            key=lambda shelf: (
                self.shelf_ready[shelf] > needed_by,
                self.distances(origin, self.shelf_region[shelf]),
                self.shelf_region[shelf],
            ),
        )

    def front_lot(self, shelf: int) -> int:
        """The shelf's earliest available lot with stock."""
        return self.shelf_lots[shelf][self.shelf_front[shelf]]

    def take(self, shelf: int, quantity: int) -> tuple[int, int]:
        """Take up to `quantity` units from the shelf's front lot; the lot and the units taken."""
        lots, front = self.shelf_lots[shelf], self.shelf_front[shelf]
        lot = lots[front]
        free = self.free[lot]
        units = quantity if quantity < free else free
        self.free[lot] = free - units
        self.shelf_free[shelf] -= units
        lot_type = self.shelf_type[shelf]
        self.free_of_type[lot_type] -= units
        if self.free_of_type[lot_type] == 0:
            self.in_stock[lot_type] = False
        if free == units:
            front += 1
            while front < len(lots) and self.free[lots[front]] == 0:
                front += 1
            self.shelf_front[shelf] = front
            if front < len(lots):
                self.shelf_ready[shelf] = self.ready[lots[front]]
        if self.shelf_free[shelf] == 0:
            self.shelves_of_type[lot_type].remove(shelf)
        return lot, units

    def _order_from(self, origin: str) -> NDArray[np.intp]:
        """All shelves, nearest region first; in a region, in shelf order."""
        if origin not in self._orders:
            nearest = self.distances.nearest_first(origin, self.regions)
            position = np.empty(len(self.regions), dtype=np.intp)
            position[[self.regions.index(r) for r in nearest]] = np.arange(len(nearest))
            self._orders[origin] = np.argsort(position[self._shelf_column], kind="stable")
        return self._orders[origin]
