"""Request status is a function of its quantities (SPEC §4)."""

from __future__ import annotations

import pytest

from services.requests.domain import Quantities, derive_status, format_ref


@pytest.mark.parametrize(
    ("quantities", "status"),
    [
        (Quantities(requested=5), "submitted"),
        (Quantities(requested=5, waitlisted=5), "waitlisted"),
        (Quantities(requested=5, proposed=2, waitlisted=3), "partially_allocated"),
        (Quantities(requested=5, proposed=5), "allocated"),
        (Quantities(requested=5, proposed=2, approved=3), "allocated"),
        (Quantities(requested=5, approved=5), "approved"),
        (Quantities(requested=5, approved=4, dispatched=1), "in_delivery"),
        (Quantities(requested=5, approved=3, delivered=2), "in_delivery"),
        (Quantities(requested=5, delivered=5), "fulfilled"),
    ],
)
def test_status_follows_quantities(quantities: Quantities, status: str) -> None:
    assert derive_status(quantities) == status


def test_cancelled_before_delivery_is_cancelled_and_after_partial_delivery_closed() -> None:
    assert derive_status(Quantities(requested=5, approved=5), cancelled=True) == "cancelled"
    assert derive_status(Quantities(requested=5, delivered=2), cancelled=True) == "closed"


def test_ref_is_region_year_and_six_digit_number() -> None:
    assert format_ref("UA-63", 2026, 123) == "UA63-2026-000123"
