"""Behaviour of the matching engine, on plain data built by small factories."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from services.allocation.matching import (
    Demand,
    Proposal,
    Supply,
    is_compatible,
    priority_weighted_units,
    propose_allocations,
)
from bench.optimum import optimal_weighted_units

TODAY = date(2026, 3, 1)
# Regions on a line, positions in km: distance is the difference.
POSITIONS = {"UA-63": 0, "UA-59": 150, "UA-53": 200, "UA-32": 480, "UA-05": 700, "UA-46": 1000}
_ids = itertools.count(1)


def distance_km(origin: str, region: str) -> float:
    """Distance between two regions on the test line."""
    return float(abs(POSITIONS[origin] - POSITIONS[region]))


def demand(**overrides: Any) -> Demand:
    """A medium-priority request for one 100 kW generator in Kharkiv, needed in 30 days."""
    fields: dict[str, Any] = {
        "request_id": UUID(int=next(_ids)),
        "region": "UA-63",
        "category": "generator",
        "specs": {"power_kw": 100},
        "unmet": 1,
        "priority": "medium",
        "front_line": False,
        "needed_by": TODAY + timedelta(days=30),
        "submitted_at": datetime(2026, 2, 1, tzinfo=UTC),
    }
    return Demand(**{**fields, **overrides})


def supply(**overrides: Any) -> Supply:
    """One free 100 kW diesel generator in Kharkiv, available today, for any region."""
    fields: dict[str, Any] = {
        "lot_id": UUID(int=1_000_000 + next(_ids)),
        "donor_id": "jica",
        "category": "generator",
        "specs": {"power_kw": 100, "fuel": "diesel", "phases": "three"},
        "free": 1,
        "region": "UA-63",
        "available_from": TODAY,
    }
    return Supply(**{**fields, **overrides})


def match(demands: list[Demand], supplies: list[Supply]) -> list[Proposal]:
    """Run the engine with the test distances."""
    return propose_allocations(demands, supplies, distance_km=distance_km)


def served(proposals: list[Proposal]) -> Counter[tuple[UUID, UUID]]:
    """Quantity proposed per (request, lot)."""
    return Counter({(p.request_id, p.lot_id): p.quantity for p in proposals})


def test_incompatible_category_is_never_proposed() -> None:
    assert match([demand(category="pump")], [supply(category="generator")]) == []


def test_numeric_minimum_is_a_floor() -> None:
    lots = [supply(specs={"power_kw": kw}) for kw in (99, 100, 150)]
    proposals = match([demand(specs={"power_kw": 100}, unmet=3)], lots)
    assert {p.lot_id for p in proposals} == {lots[1].lot_id, lots[2].lot_id}


def test_enum_list_accepts_any_listed_value() -> None:
    lots = [supply(specs={"fuel": fuel}) for fuel in ("diesel", "gas", "petrol")]
    proposals = match([demand(specs={"fuel": ["diesel", "gas"]}, unmet=3)], lots)
    assert {p.lot_id for p in proposals} == {lots[0].lot_id, lots[1].lot_id}


def test_enum_single_value_must_match_exactly() -> None:
    lots = [supply(specs={"fuel": fuel}) for fuel in ("diesel", "gas")]
    proposals = match([demand(specs={"fuel": "gas"}, unmet=2)], lots)
    assert [p.lot_id for p in proposals] == [lots[1].lot_id]


def test_attribute_the_request_omits_is_unconstrained() -> None:
    lot = supply(specs={"power_kw": 5, "fuel": "gas"})
    assert [p.lot_id for p in match([demand(specs={})], [lot])] == [lot.lot_id]


def test_lot_without_a_requested_attribute_does_not_fit() -> None:
    assert match([demand(specs={"phases": ["three"]})], [supply(specs={"power_kw": 100})]) == []


def test_earmarked_lot_only_serves_its_regions() -> None:
    lot = supply(eligible_regions=frozenset({"UA-59"}), free=2)
    outsider, insider = demand(region="UA-63"), demand(region="UA-59")
    assert [p.request_id for p in match([outsider, insider], [lot])] == [insider.request_id]


def test_critical_request_is_served_before_low() -> None:
    early_low = demand(priority="low", submitted_at=datetime(2026, 1, 1, tzinfo=UTC))
    late_critical = demand(priority="critical")
    assert [p.request_id for p in match([early_low, late_critical], [supply()])] == [late_critical.request_id]


def test_front_line_breaks_priority_ties() -> None:
    rear, front = demand(front_line=False), demand(front_line=True)
    assert [p.request_id for p in match([rear, front], [supply()])] == [front.request_id]


def test_earlier_needed_by_breaks_ties() -> None:
    later, sooner = demand(needed_by=TODAY + timedelta(days=20)), demand(needed_by=TODAY + timedelta(days=10))
    assert [p.request_id for p in match([later, sooner], [supply()])] == [sooner.request_id]


def test_earlier_submission_breaks_remaining_ties() -> None:
    second = demand(submitted_at=datetime(2026, 2, 2, tzinfo=UTC))
    first = demand(submitted_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert [p.request_id for p in match([second, first], [supply()])] == [first.request_id]


def test_nearest_lot_is_preferred() -> None:
    far, near = supply(region="UA-46"), supply(region="UA-59")
    proposals = match([demand(region="UA-63")], [far, near])
    assert [(p.lot_id, p.reason.distance_km) for p in proposals] == [(near.lot_id, 150.0)]


def test_lot_in_the_requests_own_region_is_preferred() -> None:
    elsewhere, local = supply(region="UA-59"), supply(region="UA-63")
    assert [p.lot_id for p in match([demand(region="UA-63")], [elsewhere, local])] == [local.lot_id]


def test_partial_allocation_across_lots() -> None:
    lots = [supply(free=2, region="UA-63"), supply(free=2, region="UA-46")]
    request = demand(unmet=5)
    assert served(match([request], lots)) == {(request.request_id, lot.lot_id): 2 for lot in lots}


def test_rejected_lot_is_not_proposed_again() -> None:
    rejected, other = supply(region="UA-63"), supply(region="UA-46")
    proposals = match([demand(excluded_lot_ids=frozenset({rejected.lot_id}))], [rejected, other])
    assert [p.lot_id for p in proposals] == [other.lot_id]


def test_rejected_lot_still_serves_other_requests() -> None:
    lot = supply(free=2)
    rejecting, other = demand(excluded_lot_ids=frozenset({lot.lot_id})), demand()
    assert [p.request_id for p in match([rejecting, other], [lot])] == [other.request_id]


def test_big_lot_is_not_wasted_on_small_request() -> None:
    big_lot = supply(specs={"power_kw": 500}, region="UA-63")
    small_lot = supply(specs={"power_kw": 100}, region="UA-46")
    small = demand(specs={"power_kw": 100}, priority="critical")
    big = demand(specs={"power_kw": 500}, priority="low")
    assert served(match([small, big], [big_lot, small_lot])) == {
        (small.request_id, small_lot.lot_id): 1,
        (big.request_id, big_lot.lot_id): 1,
    }


def test_request_moved_to_free_stock_says_why() -> None:
    big_lot, small_lot = supply(specs={"power_kw": 500}), supply(specs={"power_kw": 100}, region="UA-46")
    small, big = demand(priority="critical"), demand(specs={"power_kw": 500}, priority="low")
    bases = {p.request_id: p.reason.basis for p in match([small, big], [big_lot, small_lot])}
    assert bases == {small.request_id: "moved", big.request_id: "exchanged"}


def test_exchange_chains_through_several_requests() -> None:
    big, medium, small = (
        supply(specs={"power_kw": kw}, region=r) for kw, r in ((500, "UA-63"), (250, "UA-59"), (100, "UA-46"))
    )
    first = demand(specs={"power_kw": 250}, priority="critical")
    second = demand(specs={"power_kw": 100}, priority="high", region="UA-59")
    third = demand(specs={"power_kw": 500}, priority="low")
    assert served(match([first, second, third], [big, medium, small])) == {
        (first.request_id, medium.lot_id): 1,
        (second.request_id, small.lot_id): 1,
        (third.request_id, big.lot_id): 1,
    }


def test_lot_available_after_needed_by_only_when_nothing_else_fits() -> None:
    late_near = supply(region="UA-63", available_from=TODAY + timedelta(days=60))
    on_time_far = supply(region="UA-46", available_from=TODAY)
    first, second = demand(), demand()
    proposals = match([first, second], [late_near, on_time_far])
    assert served(proposals) == {
        (first.request_id, on_time_far.lot_id): 1,
        (second.request_id, late_near.lot_id): 1,
    }
    late = next(p.reason for p in proposals if p.lot_id == late_near.lot_id)
    assert (late.available_by_needed_by, late.basis) == (False, "late_stock_only")


def test_every_proposal_has_a_reason() -> None:
    rng = random.Random(7)
    demands = [demand(region=rng.choice(list(POSITIONS)), unmet=rng.randint(1, 4)) for _ in range(12)]
    supplies = [supply(region=rng.choice(list(POSITIONS)), free=rng.randint(1, 3)) for _ in range(6)]
    proposals = match(demands, supplies)
    assert proposals
    for proposal in proposals:
        sentence = proposal.reason.describe()
        assert sentence.startswith(f"Ranked {proposal.reason.rank} ")
        assert sentence.endswith(".")
        assert "km away" in sentence


def test_reason_counts_compatible_lots() -> None:
    lots = [supply(), supply(region="UA-46"), supply(specs={"power_kw": 10})]
    assert [p.reason.compatible_lots for p in match([demand()], lots)] == [2]


def test_demand_with_nothing_unmet_gets_nothing() -> None:
    assert match([demand(unmet=0)], [supply()]) == []


def test_output_does_not_depend_on_input_order() -> None:
    rng = random.Random(3)
    demands = [demand(region=rng.choice(list(POSITIONS)), unmet=rng.randint(1, 3)) for _ in range(10)]
    supplies = [supply(region=rng.choice(list(POSITIONS)), free=rng.randint(1, 3)) for _ in range(5)]
    assert match(demands, supplies) == match(demands[::-1], supplies[::-1])


# --- invariants on random instances -------------------------------------------------------------

regions = st.sampled_from(sorted(POSITIONS))
random_supplies = st.lists(
    st.builds(
        supply,
        category=st.sampled_from(["generator", "pump"]),
        specs=st.fixed_dictionaries(
            {"power_kw": st.sampled_from([50, 100, 500]), "fuel": st.sampled_from(["diesel", "gas"])}
        ),
        free=st.integers(1, 6),
        region=regions,
        available_from=st.dates(TODAY, TODAY + timedelta(days=60)),
        eligible_regions=st.none() | st.frozensets(regions, min_size=1, max_size=2),
    ),
    max_size=8,
)
random_demands = st.lists(
    st.builds(
        demand,
        category=st.sampled_from(["generator", "pump"]),
        specs=st.fixed_dictionaries(
            {},
            optional={
                "power_kw": st.sampled_from([50, 100, 500]),
                "fuel": st.sampled_from(["diesel", ["diesel", "gas"]]),
            },
        ),
        unmet=st.integers(0, 8),
        priority=st.sampled_from(["critical", "high", "medium", "low"]),
        front_line=st.booleans(),
        region=regions,
        needed_by=st.dates(TODAY, TODAY + timedelta(days=60)),
    ),
    max_size=12,
)


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Demand], list[Supply]]:
    """Random demands and supplies, some demands having rejected some lots."""
    supplies, demands = draw(random_supplies), draw(random_demands)
    lot_ids = [s.lot_id for s in supplies]
    if lot_ids:
        rejections = st.frozensets(st.sampled_from(lot_ids), max_size=2)
        demands = [replace(d, excluded_lot_ids=draw(rejections)) for d in demands]
    return demands, supplies


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
