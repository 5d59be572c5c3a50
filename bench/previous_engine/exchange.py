"""The search in one category: nearest free stock first, then exchanges along augmenting paths.

Demands are served one at a time in the order of service. Each takes the nearest compatible free
stock (available by its needed_by where possible; at equal distance, the lot type the fewest other
demands could use). When none is left it looks for an exchange: an augmenting path that moves
earlier demands to other lots that also fit them, so the stock they held serves this one while each
keeps every unit it had. Exchanges search a small graph of lot types, linked through the classes
of demands holding their units (`fit`), and skip lot types proven saturated.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

import numpy as np
from numpy.typing import NDArray

from bench.previous_engine.fit import demand_classes, lot_types_of
from services.allocation.matching.values import Basis, Demand, Proposal, Reason, Supply

_Path = tuple[list[int], list[int]]


class Distances:
    """The injected distance function, called once per pair of regions."""

    def __init__(self, distance_km: Callable[[str, str], float]) -> None:
        self._distance_km = distance_km
        self._km: dict[tuple[str, str], float] = {}

    def __call__(self, origin: str, region: str) -> float:
        key = (origin, region)
        if key not in self._km:
            self._km[key] = 0.0 if origin == region else float(self._distance_km(origin, region))
        return self._km[key]

    def nearest_first(self, origin: str, regions: Sequence[str]) -> list[str]:
        return sorted(regions, key=lambda region: (self(origin, region), region))


@dataclass
class _Slot:
    """Free lots of one lot type at one location, earliest available first."""

    lot_type: int
    region: str
    lots: list[int]
    free: int
    front: int = 0


@dataclass
class _Holdings:
    """Units held per demand (by lot), per (demand class, lot type), and as a lot type x class matrix."""

    by_demand: list[dict[int, int]]
    by_pair: dict[tuple[int, int], dict[int, int]]
    matrix: NDArray[np.int64]


class CategoryMarket:
    """Demands (in order of service) and free lots of one category, matched in place.

    Demands whose compatible lots are the same form a class; lots with equal specs and earmark
    form a lot type. Exchanges search lot types, linked through the classes holding their units.
    """

    def __init__(self, demands: list[Demand], supplies: list[Supply], distances: Distances):
        self.demands, self.supplies, self.distances = demands, supplies, distances
        self.free = [s.free for s in supplies]
        self.lot_type_of, lot_types = lot_types_of(supplies, demands)
        self.class_of, self.fit_matrix = demand_classes(demands, lot_types)
        self.fits = [row.tobytes() for row in self.fit_matrix]
        self.fit_counts = self.fit_matrix.astype(np.int32)
        self.fitted_by = np.ascontiguousarray(self.fit_matrix.T)
        self.links = np.zeros((len(lot_types), len(lot_types)), dtype=np.int32)
        lots_of_type = np.bincount(np.asarray(self.lot_type_of, dtype=np.intp), minlength=len(lot_types))
        self.compatible_lots = (self.fit_matrix.astype(np.int64) @ lots_of_type).tolist()
        units = np.bincount(self.class_of, weights=[d.unmet for d in demands], minlength=len(self.fits))
        contention = (self.fit_matrix.T.astype(np.float64) @ units).tolist()
        free_of_type = np.bincount(self.lot_type_of, weights=self.free, minlength=len(lot_types))
        self.free_of_type = free_of_type.astype(np.int64)
        self.slots_in = _slots(supplies, self.lot_type_of, contention)
        self.slots_of_type: dict[int, list[_Slot]] = {}
        for slot in (slot for slots in self.slots_in.values() for slot in slots):
            self.slots_of_type.setdefault(slot.lot_type, []).append(slot)
        self.orders: dict[str, list[str]] = {}
        shape = (len(lot_types), len(self.fits))
        self.holdings = _Holdings([{} for _ in demands], {}, np.zeros(shape, dtype=np.int64))
        self.basis: dict[tuple[int, int], Basis] = {}
        self.saturated = np.zeros(len(lot_types), dtype=bool)
        self.hopeless = np.zeros(len(self.fits), dtype=bool)
        self.drained: set[int] = set()

    def serve_all(self) -> None:
        """Serve every demand in order of service."""
        for d, demand in enumerate(self.demands):
            need = demand.unmet - self._take_nearest(d, demand.unmet)
            while need > 0 and not self.hopeless[self.class_of[d]]:
                need -= self._exchange(d, need)

    def proposals(self, rank_of: Mapping[UUID, int]) -> Iterator[Proposal]:
        """Yield one proposal per (demand, lot) holding, with its reason."""
        for d, held in enumerate(self.holdings.by_demand):
            demand = self.demands[d]
            for lot, quantity in held.items():
                supply = self.supplies[lot]
                reason = Reason(
                    rank=rank_of[demand.request_id],
                    priority=demand.priority,
                    front_line=demand.front_line,
                    distance_km=self.distances(demand.region, supply.region),
                    available_by_needed_by=supply.available_from <= demand.needed_by,
                    compatible_lots=self.compatible_lots[self.class_of[d]],
                    basis=self.basis[(d, lot)],
                )
                yield Proposal(demand.request_id, supply.lot_id, quantity, reason)

    def _take_nearest(self, d: int, need: int) -> int:
        taken = 0
        while taken < need:
            slot = self._nearest_slot(d)
            if slot is None:
                self.drained.add(self.class_of[d])
                break
            lot = slot.lots[slot.front]
            quantity = min(need - taken, self.free[lot])
            self._consume(slot, quantity)
            on_time = self.supplies[lot].available_from <= self.demands[d].needed_by
            self._hold(d, lot, quantity, "nearest" if on_time else "late_stock_only")
            taken += quantity
        return taken

    def _nearest_slot(self, d: int) -> _Slot | None:
        demand, demand_class = self.demands[d], self.class_of[d]
        if demand_class in self.drained:
            return None
        fits, late = self.fits[demand_class], None
        for region in self._nearest_first(demand.region):
            for slot in self.slots_in[region]:
                if fits[slot.lot_type]:
                    if self.supplies[slot.lots[slot.front]].available_from <= demand.needed_by:
                        return slot
                    late = late or slot
        return late

    def _nearest_first(self, origin: str) -> list[str]:
        if origin not in self.orders:
            self.orders[origin] = self.distances.nearest_first(origin, sorted(self.slots_in))
        return self.orders[origin]

    def _consume(self, slot: _Slot, quantity: int) -> None:
        self.free[slot.lots[slot.front]] -= quantity
        slot.free -= quantity
        self.free_of_type[slot.lot_type] -= quantity
        while slot.front < len(slot.lots) and self.free[slot.lots[slot.front]] == 0:
            slot.front += 1
        if slot.free == 0:
            self.slots_in[slot.region].remove(slot)
            self.slots_of_type[slot.lot_type].remove(slot)

    def _exchange(self, d: int, need: int) -> int:
        """Serve up to `need` units of demand d along one augmenting path; 0 if none."""
        path = self._augmenting_path(self.class_of[d])
        if path is None:
            return 0
        lot_types, carriers = path
        if not carriers:
            quantity = min(need, int(self.free_of_type[lot_types[0]]))
            self._take_in_type(d, lot_types[0], quantity, "nearest")
            return quantity
        pairs = list(zip(carriers, lot_types, strict=False))
        held = (int(self.holdings.matrix[u, c]) for c, u in pairs)
        quantity = min(need, int(self.free_of_type[lot_types[-1]]), *held)
        moved = self._release(*pairs[-1], quantity)
        for mover, _, units in moved:
            self._take_in_type(mover, lot_types[-1], units, "moved")
        for carrier, lot_type in reversed(pairs[:-1]):
            freed = [(lot, units) for _, lot, units in moved]
            moved = self._release(carrier, lot_type, quantity)
            self._hand_over([(mover, units) for mover, _, units in moved], freed, "moved")
        self._hand_over([(d, quantity)], [(lot, units) for _, lot, units in moved], "exchanged")
        return quantity

    def _augmenting_path(self, start: int) -> _Path | None:
        """Breadth-first over lot types: u1..uk (uk has free stock) and the classes moved off u1..uk-1."""
        reached = self.saturated.copy()
        frontier = np.flatnonzero(self.fit_matrix[start] & ~reached)
        levels = [frontier]
        while frontier.size:
            reached[frontier] = True
            with_stock = frontier[self.free_of_type[frontier] > 0]
            if with_stock.size:
                return self._trace(int(with_stock[0]), levels)
            frontier = np.flatnonzero((self.links[frontier] > 0).any(axis=0) & ~reached)
            levels.append(frontier)
        # Nothing reached can ever be freed again, nor can its holders get more: skip them from now on.
        newly_saturated = np.flatnonzero(reached & ~self.saturated)
        self.saturated = reached
        self.hopeless |= (self.holdings.matrix[newly_saturated] > 0).any(axis=0)
        self.hopeless[start] = True
        return None

    def _trace(self, target: int, levels: list[NDArray[np.intp]]) -> _Path:
        lot_types: list[int] = [target]
        carriers: list[int] = []
        for earlier in levels[-2::-1]:
            lot_type = int(earlier[np.argmax(self.links[earlier, lot_types[-1]] > 0)])
            holders = (self.holdings.matrix[lot_type] > 0) & self.fitted_by[lot_types[-1]]
            carriers.append(int(np.argmax(holders)))
            lot_types.append(lot_type)
        return lot_types[::-1], carriers[::-1]

    def _release(self, demand_class: int, lot_type: int, quantity: int) -> list[tuple[int, int, int]]:
        """Take `quantity` units of a lot type back from a demand class, latest-ranked first."""
        released: list[tuple[int, int, int]] = []
        for d in sorted(self.holdings.by_pair[(demand_class, lot_type)], reverse=True):
            for lot, units in list(self.holdings.by_demand[d].items()):
                if self.lot_type_of[lot] == lot_type and quantity > 0:
                    taken = min(units, quantity)
                    self._unhold(d, lot, taken)
                    released.append((d, lot, taken))
                    quantity -= taken
        return released

    def _take_in_type(self, d: int, lot_type: int, quantity: int, basis: Basis) -> None:
        demand = self.demands[d]
        while quantity > 0:
            slot = min(
                self.slots_of_type[lot_type],
                key=lambda s: (
                    self.supplies[s.lots[s.front]].available_from > demand.needed_by,
                    self.distances(demand.region, s.region),
                    s.region,
                ),
            )
            lot = slot.lots[slot.front]
            units = min(quantity, self.free[lot])
            self._consume(slot, units)
            self._hold(d, lot, units, basis)
            quantity -= units

    def _hand_over(self, takers: list[tuple[int, int]], lots: list[tuple[int, int]], basis: Basis) -> None:
        stock = deque(lots)
        for d, wanted in takers:
            while wanted > 0:
                lot, units = stock.popleft()
                given = min(units, wanted)
                self._hold(d, lot, given, basis)
                wanted -= given
                if units > given:
                    stock.appendleft((lot, units - given))

    def _hold(self, d: int, lot: int, quantity: int, basis: Basis) -> None:
        self._shift(d, lot, quantity)
        self.basis[(d, lot)] = basis

    def _unhold(self, d: int, lot: int, quantity: int) -> None:
        self._shift(d, lot, -quantity)

    def _shift(self, d: int, lot: int, delta: int) -> None:
        demand_class, lot_type = self.class_of[d], self.lot_type_of[lot]
        before = int(self.holdings.matrix[lot_type, demand_class])
        self.holdings.matrix[lot_type, demand_class] = before + delta
        if before == 0 or before + delta == 0:
            # links[u, v] counts classes holding units of u that v also fits: u's stock can move to v.
            self.links[lot_type] += (
                self.fit_counts[demand_class] if delta > 0 else -self.fit_counts[demand_class]
            )
        for ledger, key in (
            (self.holdings.by_demand[d], lot),
            (self.holdings.by_pair.setdefault((demand_class, lot_type), {}), d),
        ):
            ledger[key] = ledger.get(key, 0) + delta
            if ledger[key] == 0:
                del ledger[key]


def _slots(
    supplies: Sequence[Supply], lot_type_of: Sequence[int], contention: Sequence[float]
) -> dict[str, list[_Slot]]:
    """Slots per region, least contested lot type first."""
    grouped: dict[tuple[int, str], list[int]] = {}
    for lot, supply in enumerate(supplies):
        grouped.setdefault((lot_type_of[lot], supply.region), []).append(lot)
    slots_in: dict[str, list[_Slot]] = {}
    for (lot_type, region), lots in sorted(grouped.items(), key=lambda kv: (contention[kv[0][0]], kv[0])):
        lots.sort(key=lambda lot: (supplies[lot].available_from, supplies[lot].lot_id))
        free = sum(supplies[lot].free for lot in lots)
        slots_in.setdefault(region, []).append(_Slot(lot_type, region, lots, free))
    return slots_in
