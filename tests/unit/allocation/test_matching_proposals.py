"""The engine's answer as columns: the same proposals, unit counts and ranks as a list of `Proposal` has."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings

from services.allocation.matching import Proposal, Proposals
from tests.unit.allocation.matching_factories import demand, instances, match, supply


def _pump_and_generators() -> Proposals:
    """Two categories, so the answer joins two markets' proposals by rank."""
    return match(
        [
            demand(priority="low", unmet=2),
            demand(category="pump", specs={}, priority="critical"),
            demand(priority="high", unmet=1, region="UA-59"),
        ],
        [supply(free=2), supply(free=1, region="UA-05"), supply(category="pump", specs={"flow_m3h": 50})],
    )


def test_proposals_come_in_order_of_service_across_categories() -> None:
    proposals = _pump_and_generators()

    ranks = [p.reason.rank for p in proposals]
    assert ranks == sorted(ranks)
    assert [p.reason.priority for p in proposals] == ["critical", "high", "low", "low"]


def test_indexing_and_iteration_build_equal_proposals() -> None:
    proposals = _pump_and_generators()
    listed = list(proposals)

    assert [proposals[i] for i in range(len(proposals))] == listed
    assert proposals[-1] == listed[-1]
    assert proposals[1:3] == listed[1:3]
    assert proposals == listed
    assert all(isinstance(p, Proposal) for p in listed)
    with pytest.raises(IndexError):
        proposals[len(proposals)]


def test_units_by_lot_and_by_request_count_every_proposal() -> None:
    proposals = _pump_and_generators()

    by_lot: Counter[object] = Counter()
    by_request: Counter[object] = Counter()
    for p in proposals:
        by_lot[p.lot_id] += p.quantity
        by_request[p.request_id] += p.quantity
    assert proposals.units_by_lot() == by_lot
    assert proposals.units_by_request() == by_request
    assert sum(by_lot.values()) == 4


def test_ranked_after_shifts_only_the_ranks() -> None:
    proposals = _pump_and_generators()

    shifted = proposals.ranked_after(100)

    assert list(shifted) == [
        replace(p, reason=replace(p.reason, rank=p.reason.rank + 100)) for p in proposals
    ]
    assert [p.reason.rank for p in proposals] == [1, 2, 3, 3]  # the original is unchanged
    assert proposals.ranked_after(0) is proposals


def test_no_proposals_is_an_empty_sequence() -> None:
    nothing = match([demand()], [])

    assert nothing == []
    assert not nothing
    assert nothing.units_by_lot() == Counter()
    assert Proposals.joined([]) == []


@settings(max_examples=60, deadline=None)
@given(instances())
def test_columns_and_objects_agree_on_random_instances(instance: tuple[list, list]) -> None:
    demands, supplies = instance
    proposals = match(demands, supplies)
    listed = list(proposals)

    assert [proposals[i] for i in range(len(listed))] == listed
    assert proposals.units_by_request() == Counter(
        {
            rid: sum(p.quantity for p in listed if p.request_id == rid)
            for rid in {p.request_id for p in listed}
        }
    )
