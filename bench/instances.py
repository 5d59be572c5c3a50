"""Hard matching instances and the naive baseline engine, shared by the benchmark and the tests.

Hard (SPEC §9): scarce stock (supply 50-80% of demand), nested sizes (a big generator also
serves a small request, so giving it to the small one can starve a big one), narrow earmarks,
and one donor's batch split into lots across regions. On easy instances a priority-ordered
first-fit is already within 0.05% of the optimum, which proves nothing.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import numpy as np
from numpy.typing import NDArray

from services.allocation.matching import PRIORITY_WEIGHT, Demand, Priority, Supply, service_order
from shared.catalog import specs_satisfy

# Rough centres (latitude, longitude); the first eight are front-line regions.
REGIONS: dict[str, tuple[float, float]] = {
    "UA-63": (49.99, 36.23),
    "UA-65": (46.64, 32.61),
    "UA-48": (46.97, 31.99),
    "UA-59": (50.91, 34.80),
    "UA-74": (51.49, 31.29),
    "UA-23": (47.84, 35.14),
    "UA-12": (48.46, 35.05),
    "UA-14": (48.02, 37.80),
    "UA-51": (46.48, 30.72),
    "UA-32": (50.45, 30.52),
    "UA-53": (49.59, 34.55),
    "UA-05": (49.23, 28.47),
    "UA-46": (49.84, 24.03),
}
FRONT_LINE = frozenset(list(REGIONS)[:8])
# Nested sizes: a lot of any size serves every request for that size or less.
SIZES = (30, 60, 100, 250, 500, 1000)
KINDS = ("diesel", "gas", "dual")
PRIORITIES: tuple[Priority, ...] = ("critical", "high", "medium", "low")
TODAY = date(2026, 3, 1)
DEMANDS_PER_BATCH = 8  # one donor batch (1-3 lots) per eight requests: ~20k lots for 100k requests


def distance_km(origin: str, region: str) -> float:
    """Great-circle distance between region centres."""
    (lat1, lon1), (lat2, lon2) = (map(math.radians, REGIONS[r]) for r in (origin, region))
    cos_angle = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return 6371.0 * math.acos(max(-1.0, min(1.0, cos_angle)))


def hard_instance(
    seed: int, *, demands: int = 200, batches: int | None = None, categories: int = 3
) -> tuple[list[Demand], list[Supply]]:
    """Scarce stock (50-80% of demand), nested sizes, narrow earmarks, batches split across regions."""
    rng = random.Random(seed)  # noqa: S311 (reproducible instances, not secrets)
    batches = batches if batches is not None else max(1, demands // DEMANDS_PER_BATCH)
    wanted = [_random_demand(rng, n, categories) for n in range(demands)]
    offered = [lot for n in range(batches) for lot in _random_batch(rng, n, categories)]
    return wanted, _scaled_to(offered, rng.uniform(0.5, 0.8) * sum(d.unmet for d in wanted))


def _random_demand(rng: random.Random, n: int, categories: int) -> Demand:
    region = rng.choice(list(REGIONS))
    kinds = rng.sample(KINDS, rng.choice((1, 1, 2)))
    return Demand(
        request_id=UUID(int=rng.getrandbits(128)),
        region=region,
        category=f"category-{rng.randrange(categories)}",
        specs={"power_kw": rng.choices(SIZES[:-1], weights=(5, 4, 3, 2, 1))[0], "fuel": kinds},
        unmet=rng.randint(1, 12),
        priority=rng.choices(PRIORITIES, weights=(2, 3, 4, 3))[0],
        front_line=region in FRONT_LINE,
        needed_by=TODAY + timedelta(days=rng.randint(5, 90)),
        submitted_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
    )


def _random_batch(rng: random.Random, n: int, categories: int) -> list[Supply]:
    """One donor's batch of one model, split into lots in up to three regions."""
    category = f"category-{rng.randrange(categories)}"
    specs = {"power_kw": rng.choices(SIZES, weights=(1, 2, 2, 3, 3, 2))[0], "fuel": rng.choice(KINDS)}
    earmark = frozenset(rng.sample(list(REGIONS), rng.randint(1, 2))) if rng.random() < 0.3 else None
    return [
        Supply(
            lot_id=UUID(int=rng.getrandbits(128)),
            donor_id=f"donor-{n % 7}",
            category=category,
            specs=specs,
            free=rng.randint(5, 40),
            region=region,
            available_from=TODAY + timedelta(days=rng.randint(0, 60)),
            eligible_regions=earmark,
        )
        for region in rng.sample(list(REGIONS), rng.randint(1, 3))
    ]


def _scaled_to(lots: Sequence[Supply], total: float) -> list[Supply]:
    factor = total / sum(lot.free for lot in lots)
    return [replace(lot, free=max(1, round(lot.free * factor))) for lot in lots]


def _spec_key(specs: object) -> Hashable:
    assert isinstance(specs, dict)
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in specs.items()))


def first_fit_weighted_units(demands: Sequence[Demand], supplies: Sequence[Supply]) -> int:
    """Naive baseline: in order of service, each request takes the nearest compatible stock first.

    Same answer as checking `is_compatible` against every lot, nearest region first and then by lot
    id, but each class of requests (category, specs, region) lists its compatible lots once.
    """
    shelves = _Shelves(supplies)
    free = [s.free for s in shelves.lots]
    candidates: dict[Hashable, tuple[list[int], int]] = {}
    total = 0
    for demand in sorted(demands, key=service_order):
        key = (demand.category, _spec_key(demand.specs), demand.region)
        if key not in candidates:
            candidates[key] = (shelves.nearest_compatible(demand), 0)
        lots, start = candidates[key]
        need, skipped, weight = demand.unmet, 0, PRIORITY_WEIGHT[demand.priority]
        for lot in itertools.islice(lots, start, None):
            if need == 0:
                break
            if free[lot] == 0 or shelves.lots[lot].lot_id in demand.excluded_lot_ids:
                skipped += 1
                continue
            taken = min(need, free[lot])
            free[lot] -= taken
            need -= taken
            total += taken * weight
        # Exhausted lots never come back: skip the exhausted head, and compact when others pile up.
        while start < len(lots) and free[lots[start]] == 0:
            start += 1
        if skipped > 8:
            lots, start = [lot for lot in lots[start:] if free[lot] > 0], 0
        candidates[key] = (lots, start)
    return total


class _Shelves:
    """Lots (sorted by id) per category and region, tagged with their group: equal specs and earmark."""

    def __init__(self, supplies: Sequence[Supply]) -> None:
        self.lots = sorted(supplies, key=lambda s: s.lot_id.int)
        self.regions = sorted({*REGIONS, *(s.region for s in supplies)})
        column = {region: i for i, region in enumerate(self.regions)}
        group_of: dict[tuple[str, Hashable, frozenset[str] | None], int] = {}
        self.specs: dict[str, dict[Hashable, Mapping[str, object]]] = {}  # per category, distinct specs
        group_specs: dict[str, list[Hashable]] = {}
        group_regions: dict[str, list[list[bool]]] = {}
        tagged: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for index, lot in enumerate(self.lots):
            spec = _spec_key(lot.specs)
            key = (lot.category, spec, lot.eligible_regions)
            if key not in group_of:
                group_of[key] = len(group_specs.setdefault(lot.category, []))
                group_specs[lot.category].append(spec)
                self.specs.setdefault(lot.category, {})[spec] = lot.specs
                eligible = [lot.eligible_regions is None or r in lot.eligible_regions for r in self.regions]
                group_regions.setdefault(lot.category, []).append(eligible)
            tagged.setdefault((lot.category, lot.region), []).append((index, group_of[key]))
        self.shelves = {
            place: (np.array([i for i, _ in pairs]), np.array([g for _, g in pairs]))
            for place, pairs in tagged.items()
        }
        # Per category: each group's index into the category's distinct specs, and its region eligibility.
        self.spec_index = {
            category: np.array([list(self.specs[category]).index(spec) for spec in specs])
            for category, specs in group_specs.items()
        }
        self.eligible = {category: np.array(rows, dtype=bool) for category, rows in group_regions.items()}
        self.column = column
        self.allowed: dict[tuple[str, Hashable, str], NDArray[np.bool_]] = {}
        self.nearest: dict[str, list[str]] = {}

    def nearest_compatible(self, demand: Demand) -> list[int]:
        """Indices of the lots the demand may use: nearest region first, then by lot id."""
        allowed = self._allowed(demand)
        if demand.region not in self.nearest:
            self.nearest[demand.region] = sorted(
                self.regions, key=lambda r: (distance_km(demand.region, r), r)
            )
        chosen: list[int] = []
        for region in self.nearest[demand.region]:
            shelf = self.shelves.get((demand.category, region))
            if shelf is not None:
                indices, groups = shelf
                chosen.extend(indices[allowed[groups]].tolist())
        return chosen

    def _allowed(self, demand: Demand) -> NDArray[np.bool_]:
        """Per group of the demand's category: may its specs and region use it (cached per class)."""
        key = (demand.category, _spec_key(demand.specs), demand.region)
        if key not in self.allowed:
            offered = self.specs.get(demand.category, {})
            if not offered:
                self.allowed[key] = np.zeros(0, dtype=bool)
            else:
                fits = np.array(
                    [specs_satisfy(demand.specs, specs) for specs in offered.values()], dtype=bool
                )
                in_region = self.eligible[demand.category][:, self.column[demand.region]]
                self.allowed[key] = fits[self.spec_index[demand.category]] & in_region
        return self.allowed[key]
