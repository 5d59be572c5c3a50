"""Free stock of one category, shelved by lot type and region: which lots each demand's units come from.

A shelf holds the free lots of one lot type in one region, earliest available first. Each class of
demands lists its compatible shelves once, nearest region first; the flow (`exchange`) has said
how many units the class takes of each lot type (its budget), and each demand, in order of
service, takes its units from the nearest shelves of lot types with budget left, available by its
needed_by where possible. Budgets of a lot type never exceed its free stock, so every demand finds
its units; shelves and budgets only shrink, so each class's walk starts past the spent ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from services.allocation.matching.values import Basis, Supply

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

    def matrix(self, origins: Sequence[str], regions: Sequence[str]) -> NDArray[np.float64]:
        """km[i, j] from origins[i] to regions[j]."""
        return np.array([[self(o, r) for r in regions] for o in origins], dtype=np.float64).reshape(
            len(origins), len(regions)
        )


class Shelves:
    """Free units per lot and per shelf (lot type x region); shrinks as demands take them."""

    def __init__(
        self,
        supplies: Sequence[Supply],
        lot_type_of: Sequence[int],
        distances: Distances,
    ) -> None:
        self.supplies, self.distances = supplies, distances
        self.free = [s.free for s in supplies]
        self.ready = [s.available_from.toordinal() for s in supplies]
        grouped: dict[tuple[int, str], list[int]] = {}
        for lot, supply in enumerate(supplies):
            grouped.setdefault((lot_type_of[lot], supply.region), []).append(lot)
        shelves = sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        self.shelf_type = [lot_type for (lot_type, _), _ in shelves]
        self.shelf_region = [region for (_, region), _ in shelves]
        self.shelf_lots = [
            sorted(lots, key=lambda lot: (self.ready[lot], supplies[lot].lot_id.int)) for _, lots in shelves
        ]
        self.shelf_front = [0] * len(shelves)
        self.shelf_free = [sum(self.free[lot] for lot in lots) for lots in self.shelf_lots]
        self.shelf_ready = [self.ready[lots[0]] for lots in self.shelf_lots]
        self.regions = sorted(set(self.shelf_region))
        column = {region: i for i, region in enumerate(self.regions)}
        self.shelf_column = np.array([column[r] for r in self.shelf_region], dtype=np.intp)
        self.shelf_type_array = np.array(self.shelf_type, dtype=np.intp)
        self._orders: dict[str, tuple[NDArray[np.intp], NDArray[np.intp]]] = {}
        self._lot_km: dict[str, list[float]] = {}
        self._lot_column = np.array([column[s.region] for s in supplies], dtype=np.intp)

    def lot_km(self, origin: str) -> list[float]:
        """km from the origin to each lot."""
        km = self._lot_km.get(origin)
        if km is None:
            row = self.distances.matrix([origin], self.regions)[0]
            km = self._lot_km[origin] = row[self._lot_column].tolist()
        return km

    def km_to_types(self, origins: Sequence[str], types: int) -> NDArray[np.int64]:
        """km[i, t]: from origins[i] to the nearest shelf of lot type t, in whole km."""
        present = np.zeros((types, len(self.regions)), dtype=bool)
        present[self.shelf_type_array, self.shelf_column] = True
        km = self.distances.matrix(origins, self.regions)
        nearest = np.where(present[None, :, :], km[:, None, :], np.inf).min(axis=2)
        return np.rint(np.where(np.isinf(nearest), 0, nearest)).astype(np.int64)

    def walk(self, fits: NDArray[np.bool_], origin: str) -> list[int]:
        """The shelves a class fits, nearest region first (then by region, then lot type)."""
        if origin not in self._orders:
            km = self.distances.matrix([origin], self.regions)[0]
            order = np.lexsort((self.shelf_type_array, self.shelf_column, km[self.shelf_column]))
            self._orders[origin] = (order, self.shelf_type_array[order])
        order, types = self._orders[origin]
        shelves: list[int] = order[fits[types]].tolist()
        return shelves


class ClassWalk:
    """One class's compatible shelves nearest first, its budget per lot type, and where its walk is."""

    __slots__ = ("bases", "budget", "compatible_lots", "earliest", "km", "shelves", "start")

    def __init__(self, shelves: list[int], budget: list[int]) -> None:
        self.shelves, self.budget, self.start, self.earliest = shelves, budget, 0, 0
        self.km: list[float] = []  # by lot, from the class's region
        self.bases: list[Basis] = []  # by lot type, why the class takes it
        self.compatible_lots = 0


def take_units(stock: Shelves, walk: ClassWalk, need: int, needed_by: int) -> list[tuple[int, int, int]]:
    """Take a demand's units: (lot, units, lot type) each, from the nearest shelves with budget left."""
    shelf_free, shelf_type, shelf_ready = stock.shelf_free, stock.shelf_type, stock.shelf_ready
    shelves, budget = walk.shelves, walk.budget
    taken: list[tuple[int, int, int]] = []
    while need:
        start, end = walk.start, len(shelves)
        while not (shelf_free[shelves[start]] and budget[shelf_type[shelves[start]]]):
            start += 1
        chosen = shelves[start]
        walk.start = start
        # walk.earliest is at most the earliest date any usable shelf is ready: a demand needed
        # before it has no stock in time, and the scan for some can be skipped.
        if needed_by >= walk.earliest and shelf_ready[chosen] > needed_by:
            earliest = shelf_ready[chosen]
            for i in range(start + 1, end):
                shelf = shelves[i]
                if shelf_free[shelf] and budget[shelf_type[shelf]]:
                    ready = shelf_ready[shelf]
                    if ready <= needed_by:
                        chosen = shelf
                        break
                    earliest = ready if ready < earliest else earliest
            else:
                walk.earliest = earliest
        lot_type = shelf_type[chosen]
        lot, units = _take(stock, chosen, min(need, budget[lot_type]))
        budget[lot_type] -= units
        need -= units
        taken.append((lot, units, lot_type))
    return taken


def take_front(stock: Shelves, shelf: int, quantity: int) -> int:
    """Take `quantity` units, no more than it has, from the shelf's front lot; the lot."""
    lots, front = stock.shelf_lots[shelf], stock.shelf_front[shelf]
    lot = lots[front]
    free = stock.free[lot] - quantity
    stock.free[lot] = free
    stock.shelf_free[shelf] -= quantity
    if not free:
        front += 1
        stock.shelf_front[shelf] = front
        if front < len(lots):
            stock.shelf_ready[shelf] = stock.ready[lots[front]]
    return lot


def _take(stock: Shelves, shelf: int, quantity: int) -> tuple[int, int]:
    """Take up to `quantity` units from the shelf's front lot; the lot and the units taken."""
    lots, front = stock.shelf_lots[shelf], stock.shelf_front[shelf]
    lot = lots[front]
    free = stock.free[lot]
    units = quantity if quantity < free else free
    stock.free[lot] = free - units
    stock.shelf_free[shelf] -= units
    if free == units:
        front += 1
        stock.shelf_front[shelf] = front
        if front < len(lots):
            stock.shelf_ready[shelf] = stock.ready[lots[front]]
    return lot, units
