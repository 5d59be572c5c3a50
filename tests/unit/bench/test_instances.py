"""The benchmark's hard instances and its greedy first-fit baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from bench.instances import REGIONS, distance_km, first_fit_weighted_units, hard_instance
from services.allocation.matching import PRIORITY_WEIGHT, Demand, Supply, is_compatible, service_order


def brute_force_first_fit(demands: Sequence[Demand], supplies: Sequence[Supply]) -> int:
    """The definition: in order of service, each request takes compatible lots nearest first (then by id)."""
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


@pytest.mark.parametrize("seed", range(6))
def test_first_fit_gives_the_same_answer_as_its_definition(seed: int) -> None:
    demands, supplies = hard_instance(seed, demands=400, categories=4)
    assert first_fit_weighted_units(demands, supplies) == brute_force_first_fit(demands, supplies)


def test_first_fit_respects_rejected_lots() -> None:
    demands, supplies = hard_instance(1, demands=60, categories=1)
    rejected = frozenset(s.lot_id for s in supplies[::2])
    demands = [replace(d, excluded_lot_ids=rejected) for d in demands]
    assert first_fit_weighted_units(demands, supplies) == brute_force_first_fit(demands, supplies)


def test_instances_are_reproducible() -> None:
    assert hard_instance(3, demands=100) == hard_instance(3, demands=100)
    assert hard_instance(3, demands=100) != hard_instance(4, demands=100)


@pytest.mark.parametrize("seed", range(4))
def test_stock_is_scarce(seed: int) -> None:
    demands, supplies = hard_instance(seed, demands=2000, categories=20)
    assert 0.45 <= sum(s.free for s in supplies) / sum(d.unmet for d in demands) <= 0.85


def test_instances_have_what_makes_them_hard() -> None:
    demands, supplies = hard_instance(0, demands=2000, categories=20)
    assert len({d.category for d in demands}) == 20
    assert len({s.category for s in supplies}) == 20
    # Nested sizes: lots bigger than some requests of their category, so a big lot can go to a small one.
    assert len({s.specs["power_kw"] for s in supplies}) > 3
    assert any(s.specs["power_kw"] > d.specs["power_kw"] for d in demands[:50] for s in supplies[:50])
    # Narrow earmarks and batches split across regions.
    assert 0.1 < sum(s.eligible_regions is not None for s in supplies) / len(supplies) < 0.5
    assert all(len(s.eligible_regions) <= 2 for s in supplies if s.eligible_regions is not None)
    assert len({s.region for s in supplies}) == len(REGIONS)
    assert len(supplies) > 2000 // 8  # about one batch of 1-3 lots per eight requests


def test_default_batches_scale_with_the_number_of_requests() -> None:
    _, small = hard_instance(0, demands=800)
    _, large = hard_instance(0, demands=8000)
    assert 8 < len(large) / len(small) < 12
