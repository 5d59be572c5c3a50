"""The stock pages' pure rules: time left, the queue's order, the lot and dispatch forms as API bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.console import stock

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_time_left_names_days_and_hours_in_the_page_language() -> None:
    expires = NOW + timedelta(days=2, hours=5, minutes=40)
    assert stock.time_left(expires, now=NOW, locale="en") == "2 days 5 hours"
    assert stock.time_left(expires, now=NOW, locale="uk") == "2 дні 5 годин"


def test_time_left_under_a_day_gives_hours_and_minutes_and_never_zero() -> None:
    assert stock.time_left(NOW + timedelta(hours=3, minutes=7), now=NOW, locale="en") == "3 hours 7 minutes"
    assert stock.time_left(NOW + timedelta(seconds=20), now=NOW, locale="en") == "1 minute"
    assert stock.time_left(NOW + timedelta(days=1), now=NOW, locale="en") == "1 day"


def test_an_expired_proposal_has_no_time_left() -> None:
    assert stock.time_left(NOW, now=NOW, locale="en") is None
    assert stock.time_left(NOW - timedelta(minutes=1), now=NOW, locale="uk") is None


@dataclass(frozen=True)
class Proposal:
    ref: str
    priority: str
    proposed_at: datetime


def test_the_queue_puts_the_most_critical_first_and_the_oldest_first_within_a_priority() -> None:
    proposals = [
        Proposal("low-old", "low", NOW - timedelta(days=3)),
        Proposal("critical-new", "critical", NOW),
        Proposal("high", "high", NOW - timedelta(hours=1)),
        Proposal("critical-old", "critical", NOW - timedelta(hours=2)),
    ]
    assert [p.ref for p in stock.queue_order(proposals)] == [
        "critical-old",
        "critical-new",
        "high",
        "low-old",
    ]


def test_the_lot_form_becomes_the_body_of_post_lots_with_numbers_as_numbers() -> None:
    fields = {
        "category": "generator",
        "specs.power_kw": "250",
        "specs.fuel": "diesel",
        "specs.phases": "three",
        "specs.unknown": "ignored",
        "quantity": " 4 ",
        "location_region": "UA-32",
        "site": "Бориспіль, склад 2",
        "available_from": "2026-12-10",
        "notes": "",
    }
    form = stock.LotForm.from_fields(fields, eligible_regions=["UA-63", "UA-65"])
    assert form.body() == {
        "category": "generator",
        "specs": {"power_kw": 250, "fuel": "diesel", "phases": "three"},
        "quantity": 4,
        "location": {"region": "UA-32", "site": "Бориспіль, склад 2"},
        "eligible_regions": ["UA-63", "UA-65"],
        "available_from": "2026-12-10",
    }


def test_what_is_not_a_number_goes_to_the_api_as_typed_for_it_to_name_the_field() -> None:
    form = stock.LotForm.from_fields(
        {"category": "generator", "specs.power_kw": "lots", "quantity": "two", "donor_id": "jica"},
        eligible_regions=[],
    )
    body = form.body()
    assert body["specs"] == {"power_kw": "lots"}
    assert body["quantity"] == "two"
    assert body["eligible_regions"] is None
    assert body["donor_id"] == "jica"
    assert stock.LotForm.from_fields({"specs.power_kw": "7,5"}, eligible_regions=[]).specs == {
        "power_kw": "7,5"
    }


def test_api_error_fields_point_at_the_form_fields() -> None:
    errors = [
        {"field": "body.location.site", "message": "String should have at least 1 character"},
        {"field": "body.eligible_regions.0", "message": "unknown region"},
        {"field": "body.specs.fuel", "message": "must be one of diesel, gas"},
        {"field": "body.quantity", "message": "first"},
        {"field": "body.quantity", "message": "second"},
        {"field": "body.location.region", "message": "required"},
    ]
    # Each field gets a message id the page shows in its own language (the services answer in English).
    assert stock.errors_by_field(errors) == {
        "site": "Fill in this field.",
        "eligible_regions": "Check this field.",
        "specs.fuel": "This value is not one the catalog allows.",
        "quantity": "Enter a whole number of units.",
        "location_region": "Fill in this field.",
    }


def test_the_dispatch_form_splits_serial_numbers_and_leaves_out_blank_fields() -> None:
    body = stock.dispatch_body(
        {"waybill": " WB-1 ", "carrier": "", "eta": "2026-12-05", "serials": "A1\nA2, A3;;"}
    )
    assert body == {"waybill": "WB-1", "eta": "2026-12-05", "serials": ["A1", "A2", "A3"]}
    assert stock.dispatch_body({}) == {"serials": []}


def test_catalog_labels_speak_the_page_language() -> None:
    assert stock.CatalogLabels("uk").category("generator") == "Генератор"
    assert stock.CatalogLabels("en").region("UA-63") == "Kharkiv Oblast"
    assert stock.CatalogLabels("en").specs("generator", {"power_kw": 1250.0, "fuel": "diesel"}) == [
        ("Rated power", "1,250 kW"),
        ("Fuel", "diesel"),
    ]
    fields = stock.attribute_fields("pump", locale="en", values={"medium": "water"})
    assert fields[0].name == "flow_m3h"
    assert next(f for f in fields if f.name == "medium").choices is not None
