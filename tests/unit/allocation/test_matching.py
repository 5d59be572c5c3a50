"""Behaviour of the matching engine: order of service, nearest stock, exchanges and the reasons given."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.allocation.matching import Basis, Priority, Proposal, Reason, values
from tests.unit.allocation.matching_factories import POSITIONS, TODAY, demand, match, served, supply


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


def test_stock_in_time_goes_to_the_request_needing_it_soonest() -> None:
    """Ranked first but needed in 90 days, Kharkiv's request leaves the lot ready today to Sumy's."""
    today = supply(region="UA-63", available_from=TODAY)
    in_two_months = supply(region="UA-63", available_from=TODAY + timedelta(days=60))
    later = demand(region="UA-63", priority="critical", needed_by=TODAY + timedelta(days=90))
    sooner = demand(region="UA-59", needed_by=TODAY + timedelta(days=10))
    proposals = match([later, sooner], [today, in_two_months])
    assert served(proposals) == {
        (later.request_id, in_two_months.lot_id): 1,
        (sooner.request_id, today.lot_id): 1,
    }
    assert all(p.reason.available_by_needed_by and p.reason.basis == "nearest" for p in proposals)


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


def test_proposal_built_fast_equals_the_dataclass_and_stays_frozen() -> None:
    request, lot = demand().request_id, supply().lot_id
    why: tuple[int, Priority, bool, float, bool, int, Basis] = (3, "high", True, 150.0, False, 2, "moved")
    built = values.proposal(request, lot, 4, why)
    assert built == Proposal(request, lot, 4, Reason(*why))
    assert hash(built) == hash(Proposal(request, lot, 4, Reason(*why)))
    assert repr(built) == repr(Proposal(request, lot, 4, Reason(*why)))
    with pytest.raises(AttributeError):
        built.quantity = 5  # type: ignore[misc]
