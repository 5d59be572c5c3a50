"""Request status is a function of its quantities (SPEC §4); allocation stages only move forward."""

from __future__ import annotations

import pytest

from services.requests.domain import (
    AllocationView,
    Quantities,
    derive_status,
    format_ref,
    quantities_from,
)


@pytest.mark.parametrize(
    ("quantities", "status"),
    [
        (Quantities(requested=5), "submitted"),
        (Quantities(requested=5, waitlisted=5), "waitlisted"),
        (Quantities(requested=5, proposed=2, waitlisted=3), "partially_allocated"),
        (Quantities(requested=5, approved=2, waitlisted=3), "partially_allocated"),
        (Quantities(requested=5, proposed=5), "allocated"),
        (Quantities(requested=5, proposed=2, approved=3), "allocated"),
        (Quantities(requested=5, approved=5), "approved"),
        (Quantities(requested=5, approved=4, dispatched=1), "in_delivery"),
        (Quantities(requested=5, approved=3, delivered=2), "in_delivery"),
        (Quantities(requested=5, delivered=3), "in_delivery"),
        (Quantities(requested=5, delivered=5), "fulfilled"),
    ],
)
def test_status_follows_quantities(quantities: Quantities, status: str) -> None:
    assert derive_status(quantities) == status


@pytest.mark.parametrize(
    ("quantities", "status"),
    [
        (Quantities(requested=5), "cancelled"),
        (Quantities(requested=5, approved=5), "cancelled"),
        (Quantities(requested=5, dispatched=2), "cancelled"),
        (Quantities(requested=5, delivered=2), "closed"),
        (Quantities(requested=5, delivered=2, dispatched=3), "closed"),
        # Units already on the road when it was cancelled arrived: everything asked for was delivered.
        (Quantities(requested=5, delivered=5), "fulfilled"),
    ],
)
def test_cancelled_before_delivery_is_cancelled_and_after_partial_delivery_closed(
    quantities: Quantities, status: str
) -> None:
    assert derive_status(quantities, cancelled=True) == status


def test_ref_is_region_year_and_six_digit_number() -> None:
    assert format_ref("UA-63", 2026, 123) == "UA63-2026-000123"


def test_further_stage_wins_and_earlier_one_is_ignored() -> None:
    proposed = AllocationView(quantity=2, stage="proposed")
    approved = AllocationView(quantity=2, stage="approved")
    assert proposed.advanced_by(approved) is approved
    assert approved.advanced_by(proposed) is approved


def test_a_tie_keeps_the_first_view() -> None:
    first = AllocationView(quantity=2, stage="delivered", received=2)
    again = AllocationView(quantity=2, stage="delivered", received=1)
    assert first.advanced_by(again) is first


def test_quantities_sum_allocations_by_stage() -> None:
    allocations = [
        AllocationView(quantity=1, stage="proposed"),
        AllocationView(quantity=2, stage="approved"),
        AllocationView(quantity=3, stage="dispatched"),
        AllocationView(quantity=4, stage="delivered", received=4),
        AllocationView(quantity=5, stage="rejected"),
        AllocationView(quantity=6, stage="expired"),
        AllocationView(quantity=7, stage="released"),
    ]
    q = quantities_from(20, allocations, waitlisted_reported=0, cancelled=False)
    assert q == Quantities(requested=20, proposed=1, approved=2, dispatched=3, delivered=4)


def test_units_rejected_on_delivery_return_to_unmet() -> None:
    q = quantities_from(
        4,
        [AllocationView(quantity=4, stage="delivered", received=3)],
        waitlisted_reported=4,
        cancelled=False,
    )
    assert (q.delivered, q.waitlisted) == (3, 1)
    assert derive_status(q) == "in_delivery"


def test_waitlist_snapshot_is_capped_by_what_is_unmet_now() -> None:
    covered_later = quantities_from(
        5, [AllocationView(quantity=5, stage="proposed")], waitlisted_reported=5, cancelled=False
    )
    assert covered_later.waitlisted == 0
    assert derive_status(covered_later) == "allocated"
    partly = quantities_from(
        5, [AllocationView(quantity=2, stage="approved")], waitlisted_reported=5, cancelled=False
    )
    assert partly.waitlisted == 3


def test_a_cancelled_request_waits_for_nothing() -> None:
    q = quantities_from(5, [], waitlisted_reported=5, cancelled=True)
    assert q.waitlisted == 0
