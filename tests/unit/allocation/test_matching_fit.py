"""Which lot can serve which request: the compatibility rule, and the fit matrix that vectorises it."""

from __future__ import annotations

from hypothesis import given, settings

from services.allocation.matching import Demand, Supply, is_compatible
from services.allocation.matching.fit import demand_classes, lot_types_of
from tests.unit.allocation.matching_factories import demand, instances, match, supply


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


def test_rejected_lot_is_not_proposed_again() -> None:
    rejected, other = supply(region="UA-63"), supply(region="UA-46")
    proposals = match([demand(excluded_lot_ids=frozenset({rejected.lot_id}))], [rejected, other])
    assert [p.lot_id for p in proposals] == [other.lot_id]


def test_rejected_lot_still_serves_other_requests() -> None:
    lot = supply(free=2)
    rejecting, other = demand(excluded_lot_ids=frozenset({lot.lot_id})), demand()
    assert [p.request_id for p in match([rejecting, other], [lot])] == [other.request_id]


@settings(max_examples=150, deadline=None)
@given(instances())
def test_fit_matrix_agrees_with_is_compatible(instance: tuple[list[Demand], list[Supply]]) -> None:
    demands, supplies = instance
    for category in ("generator", "pump"):
        wanted = [d for d in demands if d.category == category]
        offered = [s for s in supplies if s.category == category]
        lot_type_of, lot_types = lot_types_of(offered, wanted)
        class_of, fits = demand_classes(wanted, lot_types)
        for d, want in enumerate(wanted):
            for s, lot in enumerate(offered):
                assert bool(fits[class_of[d], lot_type_of[s]]) == is_compatible(want, lot)
