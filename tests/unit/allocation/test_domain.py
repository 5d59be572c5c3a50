"""The allocation lifecycle's rules on plain values: legal moves, unit shifts, wording, who sees what."""

from __future__ import annotations

import itertools

import pytest

from services.allocation.domain import (
    ALLOCATION_STATUSES,
    HOLDING,
    TRANSITIONS,
    AllocationStatus,
    IllegalTransition,
    UnitMoves,
    check_transition,
    may_confirm_delivery,
    may_dispatch,
    may_read_allocation,
    may_read_lot,
    unit_moves,
    waitlist_reason,
)
from shared.auth import Principal

LEGAL = [
    ("proposed", "approved"),
    ("proposed", "rejected"),
    ("proposed", "expired"),
    ("proposed", "released"),
    ("approved", "dispatched"),
    ("approved", "released"),
    ("dispatched", "delivered"),
]
ILLEGAL = [pair for pair in itertools.product(ALLOCATION_STATUSES, repeat=2) if pair not in LEGAL]
COORDINATOR = Principal(sub="c", role="coordinator")
ADMIN = Principal(sub="a", role="admin")
JICA = Principal(sub="j", role="donor", donor_id="jica")
KHARKIV = Principal(sub="k", role="region_admin", region="UA-63")


def committed(counters: dict[str, int]) -> int:
    return sum(counters.values())


def test_transition_table_is_exactly_spec_section_4() -> None:
    assert sorted((a, b) for a, targets in TRANSITIONS.items() for b in targets) == sorted(LEGAL)


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_legal_transition_is_allowed(current: AllocationStatus, target: AllocationStatus) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transition_names_the_current_status(
    current: AllocationStatus, target: AllocationStatus
) -> None:
    with pytest.raises(IllegalTransition) as raised:
        check_transition(current, target)
    assert raised.value.current == current
    assert current in str(raised.value)


def test_unknown_status_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        check_transition("lost", "approved")


@pytest.mark.parametrize(("current", "target"), [p for p in LEGAL if p[1] in HOLDING])
def test_moving_forward_keeps_units_committed(current: AllocationStatus, target: AllocationStatus) -> None:
    moves = unit_moves(current, target, 3)
    assert moves == UnitMoves(lot={current: -3, target: 3}, demand={current: -3, target: 3})  # type: ignore[dict-item]
    assert committed(dict(moves.lot)) == 0


@pytest.mark.parametrize("target", ["rejected", "expired", "released"])
def test_ended_proposal_returns_units_to_lot_and_demand(target: AllocationStatus) -> None:
    moves = unit_moves("proposed", target, 4)
    assert moves.lot == {"proposed": -4}
    assert moves.demand == {"proposed": -4}
    assert moves.lot_quantity == 0


def test_released_approval_returns_approved_units() -> None:
    assert unit_moves("approved", "released", 2).lot == {"approved": -2}


def test_units_returning_to_a_withdrawn_lot_leave_it() -> None:
    moves = unit_moves("proposed", "rejected", 2, lot_withdrawn=True)
    assert moves.lot == {"proposed": -2}
    assert moves.lot_quantity == -2  # free stock stays zero: the donor took its stock back


def test_delivery_counts_received_units_and_keeps_refused_ones_off_free_stock() -> None:
    moves = unit_moves("dispatched", "delivered", 5, received=3)
    assert moves.lot == {"dispatched": -5, "delivered": 3, "rejected_on_delivery": 2}
    assert committed(dict(moves.lot)) == 0  # the lot's free stock does not grow
    assert moves.demand == {"dispatched": -5, "delivered": 3}
    assert committed(dict(moves.demand)) == -2  # the two refused units are unmet again


def test_unit_moves_refuses_an_illegal_transition() -> None:
    with pytest.raises(IllegalTransition):
        unit_moves("delivered", "released", 1)


def test_waitlist_reason_for_a_request_with_nothing_covered() -> None:
    text = waitlist_reason(category="pump", quantity=3, uncovered=3)
    assert text.startswith("3 unit(s) waiting")
    assert "pump" in text


def test_waitlist_reason_for_a_partly_covered_request() -> None:
    assert waitlist_reason(category="pump", quantity=5, uncovered=2).startswith(
        "3 of 5 unit(s) covered; 2 waiting"
    )


@pytest.mark.parametrize(
    ("principal", "visible"), [(COORDINATOR, True), (ADMIN, True), (JICA, True), (KHARKIV, False)]
)
def test_lot_visibility(principal: Principal, visible: bool) -> None:
    assert may_read_lot(principal, donor_id="jica") is visible
    assert may_read_lot(principal, donor_id="undp") is principal.sees_everything


def test_allocation_visibility_follows_donor_and_region() -> None:
    assert may_read_allocation(JICA, donor_id="jica", region="UA-51")
    assert not may_read_allocation(JICA, donor_id="undp", region="UA-63")
    assert may_read_allocation(KHARKIV, donor_id="undp", region="UA-63")
    assert not may_read_allocation(KHARKIV, donor_id="jica", region="UA-51")
    assert may_read_allocation(COORDINATOR, donor_id="undp", region="UA-51")


def test_only_the_owning_donor_or_a_coordinator_dispatches() -> None:
    assert may_dispatch(JICA, donor_id="jica")
    assert not may_dispatch(JICA, donor_id="undp")
    assert not may_dispatch(KHARKIV, donor_id="jica")
    assert may_dispatch(COORDINATOR, donor_id="undp")


def test_only_the_receiving_region_or_a_coordinator_confirms_delivery() -> None:
    assert may_confirm_delivery(KHARKIV, region="UA-63")
    assert not may_confirm_delivery(KHARKIV, region="UA-51")
    assert not may_confirm_delivery(JICA, region="UA-63")
    assert may_confirm_delivery(ADMIN, region="UA-51")
