"""A donor's statement counts as the donor-fulfilment report does, at the grain each part needs."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.allocation.reports.figures import AllocationFacts, Filters, LotFacts, donor_fulfilment
from services.allocation.reports.statement import Names, had_activity, month_period, previous_month, statement

NOV = datetime(2026, 11, 10, 9, tzinfo=UTC)
OCT = datetime(2026, 10, 20, 9, tzinfo=UTC)
NAMES = Names(donor_en="JICA", donor_uk="ДЖАЙКА", programmes={"p1": ("Phase 1", "Етап 1")})


def _lot(programme: str | None, value: str | None, currency: str | None) -> LotFacts:
    return LotFacts(
        lot_id=uuid.uuid4(), donor_id="jica", programme_id=programme, category="generator", region="UA-30",
        quantity=10, unit_value=Decimal(value) if value else None, currency=currency, registered_at=OCT,
        withdrawn_at=None, changed_at=OCT,
    )  # fmt: skip


def _delivered(lot: LotFacts, *, region: str, facility: str, units: int, **times: Any) -> AllocationFacts:
    at = {"proposed_at": NOV, "approved_at": NOV, "dispatched_at": NOV, "delivered_at": NOV} | times
    return AllocationFacts(
        allocation_id=uuid.uuid4(), request_id=uuid.uuid4(), lot_id=lot.lot_id, donor_id="jica",
        region=region, category="generator", settlement="Town", facility_name=facility, quantity=units,
        received_quantity=units - 1, rejected_quantity=1, **at,
    )  # fmt: skip


@pytest.fixture
def history() -> tuple[list[AllocationFacts], dict[uuid.UUID, LotFacts]]:
    eur, usd, bare = _lot("p1", "100", "EUR"), _lot(None, "10", "USD"), _lot(None, None, None)
    allocations = [
        _delivered(eur, region="UA-63", facility="Boiler House", units=5),
        _delivered(usd, region="UA-63", facility="Boiler House", units=3),
        _delivered(bare, region="UA-59", facility="Hospital", units=2, approved_at=OCT),
        # Every stage in October: nothing of it counts in November.
        _delivered(eur, region="UA-59", facility="School", units=4, **dict.fromkeys(
            ("proposed_at", "approved_at", "dispatched_at", "delivered_at"), OCT)),
    ]  # fmt: skip
    return allocations, {lot.lot_id: lot for lot in (eur, usd, bare)}


def test_totals_equal_the_donor_fulfilment_report_over_the_month(history: Any) -> None:
    allocations, lots = history
    refs = {a.request_id: f"UA63-2026-{i:06d}" for i, a in enumerate(allocations)}
    made = statement(
        donor_id="jica", month="2026-11", names=NAMES, allocations=allocations, lots=lots,
        request_refs=refs, issued_at=datetime(2026, 12, 1, 2, tzinfo=UTC),
    )  # fmt: skip
    rows = donor_fulfilment(
        allocations, lots, {}, Filters(date(2026, 11, 1), date(2026, 11, 30), donor_id="jica")
    )
    for stage in ("proposed", "approved", "dispatched", "delivered", "rejected_on_receipt"):
        assert getattr(made.totals, stage) == sum(row[f"units_{stage}"] for row in rows)
    assert made.totals.delivered == 4 + 2 + 1
    assert made.totals.approved == 5 + 3  # the third was approved in October
    assert made.totals.facilities_served == 2  # the boiler house counted once across two programmes
    assert {(m.currency, m.amount) for m in made.totals.value_delivered} == {
        ("EUR", Decimal(400)),
        ("USD", Decimal(20)),
    }
    assert made.period.start == date(2026, 11, 1)
    assert made.period.end == date(2026, 11, 30)
    assert had_activity(made.totals)


def test_lines_are_per_region_and_programme_with_registry_names(history: Any) -> None:
    allocations, lots = history
    made = statement(
        donor_id="jica", month="2026-11", names=NAMES, allocations=allocations, lots=lots,
        request_refs={}, issued_at=datetime(2026, 12, 1, 2, tzinfo=UTC),
    )  # fmt: skip
    lines = {(line.region, line.programme_id): line for line in made.lines}
    assert set(lines) == {("UA-63", "p1"), ("UA-63", None), ("UA-59", None)}
    assert lines["UA-63", "p1"].programme_name_uk == "Етап 1"
    assert lines["UA-63", "p1"].delivered == 4
    assert lines["UA-63", None].value_delivered[0].currency == "USD"
    assert lines["UA-59", None].value_delivered == []


def test_facilities_name_every_request_that_reached_them(history: Any) -> None:
    allocations, lots = history
    refs = {a.request_id: f"UA63-2026-{i:06d}" for i, a in enumerate(allocations)}
    made = statement(
        donor_id="jica", month="2026-11", names=NAMES, allocations=allocations, lots=lots,
        request_refs=refs, issued_at=datetime(2026, 12, 1, 2, tzinfo=UTC),
    )  # fmt: skip
    boiler = next(f for f in made.facilities if f.facility_name == "Boiler House")
    assert boiler.request_refs == ["UA63-2026-000000", "UA63-2026-000001"]
    assert boiler.units_received == 4 + 2
    assert "School" not in {f.facility_name for f in made.facilities}


def test_the_month_in_progress_ends_today() -> None:
    made = statement(
        donor_id="jica", month="2026-11", names=NAMES, allocations=[], lots={}, request_refs={},
        issued_at=datetime(2026, 11, 12, 8, tzinfo=UTC),
    )  # fmt: skip
    assert made.period.end == date(2026, 11, 12)
    assert not had_activity(made.totals)


@pytest.mark.parametrize(
    "month", ["2026-13", "2026-00", "2026-1", "26-11", "2026-11-01", "", "0000-01", "2026-11\n"]
)
def test_a_malformed_month_is_refused(month: str) -> None:
    with pytest.raises(ValueError, match="not a month"):
        month_period(month)


def test_previous_month_crosses_the_year() -> None:
    assert previous_month(datetime(2027, 1, 1, 0, 30, tzinfo=UTC)) == "2026-12"
    assert previous_month(datetime(2026, 12, 31, 23, tzinfo=UTC)) == "2026-11"
    assert month_period("2028-02").end == date(2028, 2, 29)
