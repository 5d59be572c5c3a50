"""Invariants of the matching engine on random instances: stock, demand, compatibility, rank, optimum."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.flow_engine import propose_allocations as walk_propose_allocations
from bench.instances import distance_km as hard_distance_km
from bench.instances import hard_instance
from bench.optimum import optimal_weighted_units
from bench.previous_engine import propose_allocations as previous_propose_allocations
from services.allocation.matching import (
    Demand,
    Proposal,
    Supply,
    is_compatible,
    priority_weighted_units,
    propose_allocations,
    service_order,
)
from tests.unit.allocation.matching_factories import TODAY, distance_km, instances, match, random_demands


@settings(max_examples=150, deadline=None)
@given(instances())
def test_never_exceeds_free_stock_of_a_lot(instance: tuple[list[Demand], list[Supply]]) -> None:
    demands, supplies = instance
    proposed = Counter[UUID]()
    for proposal in match(demands, supplies):
        proposed[proposal.lot_id] += proposal.quantity
    assert all(proposed[s.lot_id] <= s.free for s in supplies)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_never_exceeds_unmet_quantity_of_a_request(instance: tuple[list[Demand], list[Supply]]) -> None:
    demands, supplies = instance
    proposed = Counter[UUID]()
    for proposal in match(demands, supplies):
        proposed[proposal.request_id] += proposal.quantity
    assert all(proposed[d.request_id] <= max(d.unmet, 0) for d in demands)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_only_compatible_lots_are_proposed(instance: tuple[list[Demand], list[Supply]]) -> None:
    demands, supplies = instance
    by_request, by_lot = {d.request_id: d for d in demands}, {s.lot_id: s for s in supplies}
    for proposal in match(demands, supplies):
        assert proposal.quantity > 0
        assert is_compatible(by_request[proposal.request_id], by_lot[proposal.lot_id])


@settings(max_examples=100, deadline=None)
@given(instances(), random_demands)
def test_lower_ranked_requests_never_reduce_a_higher_ranked_one(
    instance: tuple[list[Demand], list[Supply]], newcomers: list[Demand]
) -> None:
    demands, supplies = instance
    last = datetime(2027, 1, 1, tzinfo=UTC)
    newcomers = [
        replace(d, priority="low", front_line=False, needed_by=TODAY + timedelta(days=999), submitted_at=last)
        for d in newcomers
    ]
    before, after = Counter[UUID](), Counter[UUID]()
    for proposal in match(demands, supplies):
        before[proposal.request_id] += proposal.quantity
    for proposal in match(demands + newcomers, supplies):
        after[proposal.request_id] += proposal.quantity
    assert all(after[d.request_id] == before[d.request_id] for d in demands)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_no_allocation_serves_more_weighted_units(instance: tuple[list[Demand], list[Supply]]) -> None:
    demands, supplies = instance
    engine = priority_weighted_units(match(demands, supplies), demands)
    assert engine == round(optimal_weighted_units(demands, supplies))


@settings(max_examples=150, deadline=None)
@given(instances())
def test_no_request_is_left_short_while_a_lot_it_fits_serves_a_later_one(
    instance: tuple[list[Demand], list[Supply]],
) -> None:
    demands, supplies = instance
    proposals = match(demands, supplies)
    rank = {d.request_id: n for n, d in enumerate(sorted(demands, key=service_order))}
    served = Counter[UUID]()
    for proposal in proposals:
        served[proposal.request_id] += proposal.quantity
    lots = {s.lot_id: s for s in supplies}
    for short in (d for d in demands if served[d.request_id] < d.unmet):
        for proposal in proposals:
            if rank[proposal.request_id] > rank[short.request_id]:
                assert not is_compatible(short, lots[proposal.lot_id])


def _units_per_request(proposals: list[Proposal]) -> Counter[UUID]:
    units = Counter[UUID]()
    for proposal in proposals:
        units[proposal.request_id] += proposal.quantity
    return units


# The engine now finds the greedy-with-exchanges answer by one min-cost flow (issue #19): every
# request gets exactly the units the previous engine gave it (the count per request of a
# maximum-weight basis is unique), though where lots are interchangeable for the objective the flow
# may pick another one. Identical proposals were pinned here before; identical units are the rule.
@settings(max_examples=150, deadline=None)
@given(instances())
def test_same_units_per_request_as_the_previous_engine(instance: tuple[list[Demand], list[Supply]]) -> None:
    demands, supplies = instance
    previous = previous_propose_allocations(demands, supplies, distance_km=distance_km)
    assert _units_per_request(match(demands, supplies)) == _units_per_request(previous)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_same_units_per_request_as_the_previous_engine_on_hard_instances(seed: int) -> None:
    demands, supplies = hard_instance(seed, demands=300, categories=2)
    engine = propose_allocations(demands, supplies, distance_km=hard_distance_km)
    previous = previous_propose_allocations(demands, supplies, distance_km=hard_distance_km)
    assert _units_per_request(engine) == _units_per_request(previous)


# SPEC §4: stock available by needed_by before nearer stock that is late. The per-request walk
# (`bench.flow_engine`, the engine before its columnar rewrite) took, request by request, the
# nearest stock in time; dealing each lot type's stock earliest needed_by first serves at least as
# many units in time on these instances (the date-blind nearest-shelf claim fell short on every one).
@pytest.mark.parametrize("seed", range(8))
def test_at_least_as_many_units_in_time_as_the_per_request_walk(seed: int) -> None:
    demands, supplies = hard_instance(seed, demands=300, categories=2)
    engine = propose_allocations(demands, supplies, distance_km=hard_distance_km)
    walk = walk_propose_allocations(demands, supplies, distance_km=hard_distance_km)
    assert _units_per_request(engine) == _units_per_request(walk)
    assert _in_time_units(engine) >= _in_time_units(walk)


def _in_time_units(proposals: list[Proposal]) -> int:
    return sum(p.quantity for p in proposals if p.reason.available_by_needed_by)
