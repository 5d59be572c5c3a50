"""The engine against the exact LP optimum and a naive first-fit, on hard random instances."""

from __future__ import annotations

import pytest

# The hard-instance generator is shared with `make bench`, so the bench measures what the tests prove.
from bench.instances import distance_km, first_fit_weighted_units, hard_instance
from bench.optimum import optimal_weighted_units
from services.allocation.matching import (
    priority_weighted_units,
    propose_allocations,
)

# The engine is exact by construction (matroid greedy with exchanges), so the only gap
# allowed is the LP solver's floating-point tolerance on the optimum.
ALLOWED_GAP = 1e-6
SEEDS = range(8)


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
