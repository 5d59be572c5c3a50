"""The engine against the exact LP optimum and a naive first-fit, on hard random instances."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from services.allocation.matching import (
    PRIORITY_WEIGHT,
    Demand,
    Priority,
    Supply,
    is_compatible,
    priority_weighted_units,
    propose_allocations,
    service_order,
)
from services.allocation.optimum import optimal_weighted_units

# The engine is exact by construction (matroid greedy with exchanges), so the only gap
# allowed is the LP solver's floating-point tolerance on the optimum.
ALLOWED_GAP = 1e-6
SEEDS = range(8)

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


def distance_km(origin: str, region: str) -> float:
    """Great-circle distance between region centres."""
    (lat1, lon1), (lat2, lon2) = (map(math.radians, REGIONS[r]) for r in (origin, region))
    cos_angle = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return 6371.0 * math.acos(max(-1.0, min(1.0, cos_angle)))


def hard_instance(
    seed: int, *, demands: int = 200, batches: int = 25, categories: int = 3
) -> tuple[list[Demand], list[Supply]]:
    """Scarce stock (50-80% of demand), nested sizes, narrow earmarks, batches split across regions."""
    rng = random.Random(seed)
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


def first_fit_weighted_units(demands: Sequence[Demand], supplies: Sequence[Supply]) -> int:
    """Naive baseline: in order of service, each request takes the nearest compatible stock."""
    free = {s.lot_id: s.free for s in supplies}
    total = 0
    for demand in sorted(demands, key=service_order):
        need = demand.unmet
        for lot in sorted(
            (s for s in supplies if is_compatible(demand, s)),
            key=lambda s: (distance_km(demand.region, s.region), s.lot_id),
        ):
            taken = min(need, free[lot.lot_id])
            free[lot.lot_id] -= taken
            need -= taken
            total += taken * PRIORITY_WEIGHT[demand.priority]
    return total


@pytest.mark.parametrize("seed", SEEDS)
def test_engine_reaches_the_lp_optimum_on_hard_instances(seed: int) -> None:
    demands, supplies = hard_instance(seed)
    engine = priority_weighted_units(propose_allocations(demands, supplies, distance_km=distance_km), demands)
    optimum = optimal_weighted_units(demands, supplies)
    assert engine >= optimum * (1 - ALLOWED_GAP)
    assert engine <= optimum * (1 + ALLOWED_GAP)


def test_instances_are_scarce() -> None:
    for seed in SEEDS:
        demands, supplies = hard_instance(seed)
        ratio = sum(s.free for s in supplies) / sum(d.unmet for d in demands)
        assert 0.45 <= ratio <= 0.85


def test_instances_are_hard_enough_to_tell_engines_apart() -> None:
    gaps = []
    for seed in SEEDS:
        demands, supplies = hard_instance(seed)
        optimum = optimal_weighted_units(demands, supplies)
        gaps.append(1 - first_fit_weighted_units(demands, supplies) / optimum)
    assert max(gaps) > 0.01, f"first-fit gaps to the optimum: {gaps}"
    assert sum(gap > 0.0005 for gap in gaps) >= len(gaps) // 2, f"first-fit gaps to the optimum: {gaps}"
