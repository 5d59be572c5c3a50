"""Matching engine: proposes donors' free stock for unmet demand, each proposal with its reason.

Pure domain logic: plain frozen dataclasses in, proposals out; no I/O, no clock, no database.

Algorithm. Demands are served one at a time in the order of service (priority, front-line,
needed_by, submission). Each takes the nearest compatible free stock (available by its
needed_by where possible; at equal distance, the lot type the fewest other demands could use).
When none is left it looks for an exchange: an augmenting path that moves earlier demands to
other lots that also fit them, so the stock they held serves this one while each keeps every
unit it had. Demand units form a transversal matroid, so this greedy with exchanges is exact:
no allocation serves more priority-weighted units, for any weights that decrease with priority,
and within a priority earlier-ranked demands come first. Exchanges search a small graph of lot
types (lots with equal specs and earmark), through classes of demands that fit the same lot
types, and skip lot types proven saturated: 100k demands x 20k lots match in a few seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, TypeGuard
from uuid import UUID

import numpy as np
from numpy.typing import NDArray

from shared.catalog import specs_satisfy

Priority = Literal["critical", "high", "medium", "low"]
Basis = Literal["nearest", "late_stock_only", "exchanged", "moved"]
_Path = tuple[list[int], list[int]]

PRIORITY_RANK: Mapping[Priority, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}
# Objective: sum of weight x units. The engine's answer is optimal for *every* weighting that
# decreases with priority (matroid greedy), so these numbers only scale reports; a factor of
# 10 reads as "one critical unit outweighs ten high ones".
PRIORITY_WEIGHT: Mapping[Priority, int] = {"critical": 1000, "high": 100, "medium": 10, "low": 1}

_ABSENT = object()
_BASIS_TEXT: Mapping[Basis, str] = {
    "nearest": "takes the nearest compatible free stock (the least contested fit at that distance)",
    "late_stock_only": "takes the nearest compatible stock, as none available in time was free",
    "exchanged": "gets stock freed for it by moving earlier requests to other lots that also fit them",
    "moved": "was moved to this lot so that its former one could serve a request with no other fit",
}


@dataclass(frozen=True)
class Demand:
    """Unmet quantity of one request; specs as the catalog normalises them (number = minimum)."""

    request_id: UUID
    region: str
    category: str
    specs: Mapping[str, object]
    unmet: int
    priority: Priority
    front_line: bool
    needed_by: date
    submitted_at: datetime
    excluded_lot_ids: frozenset[UUID] = frozenset()


@dataclass(frozen=True)
class Supply:
    """Free stock of one lot (approved stock is never in `free`)."""

    lot_id: UUID
    donor_id: str
    category: str
    specs: Mapping[str, object]
    free: int
    region: str
    available_from: date
    eligible_regions: frozenset[str] | None = None


@dataclass(frozen=True)
class Reason:
    """Why a lot and a quantity were proposed for a request."""

    rank: int
    priority: Priority
    front_line: bool
    distance_km: float
    available_by_needed_by: bool
    compatible_lots: int
    basis: Basis

    def describe(self) -> str:
        """One human sentence explaining the proposal."""
        standing = f"{self.priority}{', front-line' if self.front_line else ''}"
        timing = "available by" if self.available_by_needed_by else "only available after"
        return (
            f"Ranked {self.rank} in order of service ({standing}), this request {_BASIS_TEXT[self.basis]};"
            f" the lot is {self.distance_km:.0f} km away and {timing} the needed-by date,"
            f" one of {self.compatible_lots} compatible lots."
        )


@dataclass(frozen=True)
class Proposal:
    """A quantity of one lot proposed for one request."""

    request_id: UUID
    lot_id: UUID
    quantity: int
    reason: Reason


def propose_allocations(
    demands: Sequence[Demand],
    supplies: Sequence[Supply],
    *,
    distance_km: Callable[[str, str], float],
) -> list[Proposal]:
    """Propose free stock for unmet demand, maximising priority-weighted units served."""
    ranked = sorted((d for d in demands if d.unmet > 0), key=service_order)
    rank_of = {d.request_id: rank for rank, d in enumerate(ranked, start=1)}
    distances = _Distances(distance_km)
    proposals: list[Proposal] = []
    for wanted, offered in _by_category(ranked, supplies).values():
        market = _CategoryMarket(wanted, offered, distances)
        market.serve_all()
        proposals.extend(market.proposals(rank_of))
    proposals.sort(key=lambda p: (p.reason.rank, p.reason.distance_km, p.lot_id))
    return proposals


def service_order(demand: Demand) -> tuple[int, bool, date, datetime, UUID]:
    """Sort key of the order of service: priority, front-line, needed_by, submission."""
    return (
        PRIORITY_RANK[demand.priority],
        not demand.front_line,
        demand.needed_by,
        demand.submitted_at,
        demand.request_id,
    )


def priority_weighted_units(proposals: Sequence[Proposal], demands: Sequence[Demand]) -> int:
    """The objective: units proposed, each weighted by its request's priority."""
    weight = {d.request_id: PRIORITY_WEIGHT[d.priority] for d in demands}
    return sum(p.quantity * weight[p.request_id] for p in proposals)


def is_compatible(demand: Demand, supply: Supply) -> bool:
    """Whether a lot may serve a demand at all (category, specs, earmark, not rejected)."""
    return (
        demand.category == supply.category
        and (supply.eligible_regions is None or demand.region in supply.eligible_regions)
        and supply.lot_id not in demand.excluded_lot_ids
        and specs_satisfy(demand.specs, supply.specs)
    )


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _acceptable(want: object) -> frozenset[str]:
    """Values an enumerated request attribute accepts, read as `specs_satisfy` reads them."""
    if isinstance(want, str):
        return frozenset([want])
    if isinstance(want, list | tuple):
        return frozenset(value for value in want if isinstance(value, str))
    raise TypeError(f"request spec value {want!r} is neither a number nor acceptable values")


def _spec_key(specs: Mapping[str, object]) -> Hashable:
    """Equal keys mean equal specs (a list of values keeps its order: at worst two keys for one)."""
    return tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in specs.items()))


def _by_category(
    demands: Sequence[Demand], supplies: Sequence[Supply]
) -> dict[str, tuple[list[Demand], list[Supply]]]:
    groups: dict[str, tuple[list[Demand], list[Supply]]] = {}
    for demand in demands:
        groups.setdefault(demand.category, ([], []))[0].append(demand)
    for supply in sorted(supplies, key=lambda s: s.lot_id):
        if supply.free > 0 and supply.category in groups:
            groups[supply.category][1].append(supply)
    return groups


class _Distances:
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


@dataclass(frozen=True)
class _DemandType:
    specs: Mapping[str, object]
    region: str
    excluded: frozenset[UUID]


@dataclass(frozen=True)
class _LotType:
    specs: Mapping[str, object]
    eligible: frozenset[str] | None
    only_lot: UUID | None


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


class _CategoryMarket:
    """Demands (in order of service) and free lots of one category, matched in place.

    Demands whose compatible lots are the same form a class; lots with equal specs and earmark
    form a lot type. Exchanges search lot types, linked through the classes holding their units.
    """

    def __init__(self, demands: list[Demand], supplies: list[Supply], distances: _Distances):
        self.demands, self.supplies, self.distances = demands, supplies, distances
        self.free = [s.free for s in supplies]
        self.lot_type_of, lot_types = _lot_types(supplies, demands)
        self.class_of, self.fit_matrix = _demand_classes(demands, lot_types)
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


def _demand_classes(
    demands: Sequence[Demand], lot_types: Sequence[_LotType]
) -> tuple[list[int], NDArray[np.bool_]]:
    """Class of each demand (equal classes fit exactly the same lot types) and the class x lot type fits."""
    index: dict[Hashable, int] = {}
    types: list[_DemandType] = []
    type_of = []
    for demand in demands:
        key = (_spec_key(demand.specs), demand.region, demand.excluded_lot_ids)
        if key not in index:
            index[key] = len(types)
            types.append(_DemandType(demand.specs, demand.region, demand.excluded_lot_ids))
        type_of.append(index[key])
    fits = _fit_matrix(types, lot_types)
    classes: dict[bytes, int] = {}
    class_of_type = [classes.setdefault(row.tobytes(), len(classes)) for row in fits]
    first_of_class = {c: t for t, c in reversed(list(enumerate(class_of_type)))}
    return [class_of_type[t] for t in type_of], fits[[first_of_class[c] for c in range(len(classes))]]


def _lot_types(supplies: Sequence[Supply], demands: Sequence[Demand]) -> tuple[list[int], list[_LotType]]:
    """Group interchangeable lots; a lot some request rejected stays a type of its own."""
    rejected = frozenset().union(*(d.excluded_lot_ids for d in demands))
    index: dict[tuple[object, ...], int] = {}
    types: list[_LotType] = []
    type_of = []
    for supply in supplies:
        only_lot = supply.lot_id if supply.lot_id in rejected else None
        key = (_spec_key(supply.specs), supply.eligible_regions, only_lot)
        if key not in index:
            index[key] = len(types)
            types.append(_LotType(supply.specs, supply.eligible_regions, only_lot))
        type_of.append(index[key])
    return type_of, types


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


def _fit_matrix(demand_types: Sequence[_DemandType], lot_types: Sequence[_LotType]) -> NDArray[np.bool_]:
    """fits[t, u]: lots of type u may serve demands of type t (`is_compatible`, vectorised)."""
    fits = _eligibility(demand_types, lot_types)
    for name in sorted({name for t in demand_types for name in t.specs}):
        fits &= _attribute_fit(name, demand_types, lot_types)
    only = {u.only_lot: j for j, u in enumerate(lot_types) if u.only_lot is not None}
    for i, demand_type in enumerate(demand_types):
        for lot_id in demand_type.excluded & only.keys():
            fits[i, only[lot_id]] = False
    return fits


def _eligibility(demand_types: Sequence[_DemandType], lot_types: Sequence[_LotType]) -> NDArray[np.bool_]:
    regions = sorted({t.region for t in demand_types})
    allowed = np.ones((len(lot_types), len(regions)), dtype=bool)
    for j, lot_type in enumerate(lot_types):
        if lot_type.eligible is not None:
            allowed[j] = [region in lot_type.eligible for region in regions]
    column = {region: i for i, region in enumerate(regions)}
    return np.ascontiguousarray(allowed[:, [column[t.region] for t in demand_types]].T)


def _attribute_fit(
    name: str, demand_types: Sequence[_DemandType], lot_types: Sequence[_LotType]
) -> NDArray[np.bool_]:
    wants = [t.specs.get(name, _ABSENT) for t in demand_types]
    haves = [u.specs.get(name, _ABSENT) for u in lot_types]
    floor = np.array([float(w) if _is_number(w) else -np.inf for w in wants])
    level = np.array([float(h) if _is_number(h) else np.nan for h in haves])
    numeric = (level[None, :] >= floor[:, None]) | np.isneginf(floor)[:, None]
    values = {v: i for i, v in enumerate(dict.fromkeys(h for h in haves if isinstance(h, str)))}
    codes = [values[h] if isinstance(h, str) else len(values) for h in haves]
    accepts = np.ones((len(wants), len(values) + 1), dtype=bool)
    for i, want in enumerate(wants):
        if want is not _ABSENT and not _is_number(want):
            accepts[i] = False
            accepts[i, [values[v] for v in _acceptable(want) if v in values]] = True
    return numeric & accepts[:, codes]
