"""The search in one category: nearest free stock first, then exchanges along augmenting paths.

Demands are served one at a time in the order of service. Each takes the nearest compatible free
stock (available by its needed_by where possible; at equal distance, the lot type the fewest other
demands could use; `stock`). When none is left it looks for an exchange: an augmenting path that
moves earlier demands to other lots that also fit them, so the stock they held serves this one while
each keeps every unit it had. Exchanges search a small graph of lot types, linked through the classes
of demands holding their units (`fit`), and skip lot types proven saturated; a class with no path
left is hopeless, and its later demands are skipped at once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.allocation.matching.fit import demand_classes, lot_types_of
from services.allocation.matching.stock import Distances, FreeStock
from services.allocation.matching.values import Basis, Demand, Proposal, Supply, proposal

_Path = tuple[list[int], list[int]]


@dataclass
class _Holdings:
    """Units held per demand (by lot), per (demand class, lot type), per lot type x class, and whether any."""

    by_demand: list[dict[int, int]]
    by_pair: dict[tuple[int, int], dict[int, int]]
    units: list[list[int]]
    held: NDArray[np.bool_]


class CategoryMarket:
    """Demands (in order of service) and free lots of one category, matched in place.

    Demands whose compatible lots are the same form a class; lots with equal specs and earmark
    form a lot type. Exchanges search lot types, linked through the classes holding their units.
    """

    def __init__(self, demands: list[Demand], supplies: list[Supply], distances: Distances):
        self.demands, self.supplies, self.distances = demands, supplies, distances
        self.lot_type_of, lot_types = lot_types_of(supplies, demands)
        self.class_of, self.fit_matrix = demand_classes(demands, lot_types)
        classes = len(self.fit_matrix)
        self.fit_counts = self.fit_matrix.astype(np.int32)
        self.fitted_by = np.ascontiguousarray(self.fit_matrix.T)
        self.links = np.zeros((len(lot_types), len(lot_types)), dtype=np.int32)
        lots_of_type = np.bincount(np.asarray(self.lot_type_of, dtype=np.intp), minlength=len(lot_types))
        self.compatible_lots = (self.fit_matrix.astype(np.int64) @ lots_of_type).tolist()
        units = np.bincount(self.class_of, weights=[d.unmet for d in demands], minlength=classes)
        contention = (self.fit_matrix.T.astype(np.float64) @ units).tolist()
        self.stock = FreeStock(supplies, self.lot_type_of, contention, distances)
        self.holdings = _Holdings(
            [{} for _ in demands],
            {},
            [[0] * classes for _ in lot_types],
            np.zeros((len(lot_types), classes), dtype=bool),
        )
        self.basis: dict[tuple[int, int], Basis] = {}
        self.saturated = np.zeros(len(lot_types), dtype=bool)
        self.hopeless = np.zeros(classes, dtype=bool)
        self.drained = [False] * classes

    def serve_all(self) -> None:
        """Serve every demand in order of service."""
        hopeless, drained = self.hopeless, self.drained
        for d, (demand, demand_class) in enumerate(zip(self.demands, self.class_of, strict=True)):
            # A hopeless class has no compatible free stock and no exchange left: nothing to try.
            if hopeless[demand_class]:
                continue
            need = demand.unmet
            if not drained[demand_class]:
                need -= self._take_nearest(d, demand, demand_class)
            while need > 0 and not hopeless[demand_class]:
                need -= self._exchange(d, need)

    def proposals(self, d: int, rank: int) -> list[Proposal]:
        """Demand d's proposals (nearest lot first), each with its reason."""
        demand, held = self.demands[d], self.holdings.by_demand[d]
        compatible_lots = self.compatible_lots[self.class_of[d]]
        out = []
        for lot, quantity in held.items():
            supply = self.supplies[lot]
            reason = (
                rank,
                demand.priority,
                demand.front_line,
                self.distances(demand.region, supply.region),
                supply.available_from <= demand.needed_by,
                compatible_lots,
                self.basis[(d, lot)],
            )
            out.append(proposal(demand.request_id, supply.lot_id, quantity, reason))
        if len(out) > 1:
            out.sort(key=lambda p: (p.reason.distance_km, p.lot_id))
        return out

    def _take_nearest(self, d: int, demand: Demand, demand_class: int) -> int:
        stock, need, taken = self.stock, demand.unmet, 0
        needed_by = demand.needed_by.toordinal()
        while taken < need:
            shelf = stock.nearest_shelf(self.fit_matrix, demand_class, demand.region, needed_by)
            if shelf < 0:
                self.drained[demand_class] = True
                break
            lot, units = stock.take(shelf, need - taken)
            self._hold(d, lot, units, "nearest" if stock.ready[lot] <= needed_by else "late_stock_only")
            taken += units
        return taken

    def _exchange(self, d: int, need: int) -> int:
        """Serve up to `need` units of demand d along one augmenting path; 0 if none."""
        path = self._augmenting_path(self.class_of[d])
        if path is None:
            return 0
        lot_types, carriers = path
        if not carriers:
            quantity = min(need, self.stock.free_of_type[lot_types[0]])
            self._take_in_type(d, lot_types[0], quantity, "nearest")
            return quantity
        pairs = list(zip(carriers, lot_types, strict=False))
        held = (self.holdings.units[u][c] for c, u in pairs)
        quantity = min(need, self.stock.free_of_type[lot_types[-1]], *held)
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
            with_stock = frontier[self.stock.in_stock[frontier]]
            if with_stock.size:
                return self._trace(int(with_stock[0]), levels)
            frontier = np.flatnonzero((self.links[frontier] > 0).any(axis=0) & ~reached)
            levels.append(frontier)
        # Nothing reached can ever be freed again, nor can its holders get more: skip them from now on.
        newly_saturated = np.flatnonzero(reached & ~self.saturated)
        self.saturated = reached
        self.hopeless |= self.holdings.held[newly_saturated].any(axis=0)
        self.hopeless[start] = True
        return None

    def _trace(self, target: int, levels: list[NDArray[np.intp]]) -> _Path:
        lot_types: list[int] = [target]
        carriers: list[int] = []
        for earlier in levels[-2::-1]:
            lot_type = int(earlier[np.argmax(self.links[earlier, lot_types[-1]] > 0)])
            holders = self.holdings.held[lot_type] & self.fitted_by[lot_types[-1]]
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
        needed_by = demand.needed_by.toordinal()
        while quantity > 0:
            shelf = self.stock.nearest_shelf_of_type(lot_type, demand.region, needed_by)
            lot, units = self.stock.take(shelf, quantity)
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
        row = self.holdings.units[lot_type]
        before = row[demand_class]
        row[demand_class] = before + delta
        if before == 0 or before + delta == 0:
            self.holdings.held[lot_type, demand_class] = delta > 0
            # links[u, v] counts classes holding units of u that v also fits: u's stock can move to v.
            if delta > 0:
                self.links[lot_type] += self.fit_counts[demand_class]
            else:
                self.links[lot_type] -= self.fit_counts[demand_class]
        _add(self.holdings.by_demand[d], lot, delta)
        pair = self.holdings.by_pair.get((demand_class, lot_type))
        if pair is None:
            pair = self.holdings.by_pair[(demand_class, lot_type)] = {}
        _add(pair, d, delta)


def _add(ledger: dict[int, int], key: int, delta: int) -> None:
    """Add to one entry of a ledger of units; an entry that reaches zero goes."""
    units = ledger.get(key, 0) + delta
    if units:
        ledger[key] = units
    else:
        del ledger[key]
