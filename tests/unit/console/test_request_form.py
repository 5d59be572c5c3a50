"""The new-request form: catalog attributes as fields, the typed form as an API body, API errors by field."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.console import request_form
from services.console.request_form import (
    NOT_A_NUMBER,
    OUT_OF_RANGE,
    REQUEST_FORM_ERRORS,
    REQUIRED,
    field_errors,
    request_body,
    spec_fields,
    timeline_label,
)


def typed(**fields: str | list[str]) -> dict[str, list[str]]:
    """A submitted form as the route reads it: every field a list of strings."""
    form: dict[str, str | list[str]] = {
        "region": "ua-63",
        "settlement": " Харків ",
        "facility_name": "Водоканал",
        "facility_kind": "water_utility",
        "category": "generator",
        "quantity": "2",
        "priority": "critical",
        "needed_by": "2030-01-31",
        "justification": "No grid power.",
        "contact_name": "Олена Коваль",
        "contact_phone": "",
        "contact_email": "olena@example.org",
        **fields,
    }
    return {name: value if isinstance(value, list) else [value] for name, value in form.items()}


def test_a_category_gives_its_attributes_with_units_and_choices_in_the_page_language() -> None:
    english = {field.name: field for field in spec_fields("generator", "en")}
    ukrainian = spec_fields("generator", "uk")

    assert (english["spec-power_kw"].label, english["spec-power_kw"].unit) == ("Rated power", "kW")
    assert english["spec-fuel"].choices == ("diesel", "gas", "petrol", "dual_fuel")
    assert english["spec-phases"].unit is None
    assert ukrainian[0].label == "Номінальна потужність"


def test_no_category_has_no_attribute_fields() -> None:
    assert spec_fields("", "en") == []
    assert spec_fields("spaceship", "uk") == []


def test_the_form_becomes_the_api_body() -> None:
    body, errors = request_body(
        typed(**{"spec-power_kw": "2,5", "spec-fuel": ["diesel", "gas"], "spec-phases": []}), locale="en"
    )

    assert errors == {}
    assert body == {
        "region": "UA-63",
        "settlement": "Харків",
        "facility": {"name": "Водоканал", "kind": "water_utility"},
        "category": "generator",
        "specs": {"power_kw": 2.5, "fuel": ["diesel", "gas"]},
        "quantity": 2,
        "priority": "critical",
        "needed_by": "2030-01-31",
        "justification": "No grid power.",
        "contact": {"name": "Олена Коваль", "email": "olena@example.org"},
    }


def test_a_whole_number_stays_an_integer_and_blank_minimums_are_left_out() -> None:
    body, _ = request_body(typed(**{"spec-power_kw": "250", "spec-phases": ""}), locale="en")

    assert body["specs"] == {"power_kw": 250}


def test_a_minimum_that_is_not_a_number_is_marked_before_the_api_is_asked() -> None:
    _, errors = request_body(typed(**{"spec-power_kw": "lots"}), locale="uk")

    assert errors == {"spec-power_kw": NOT_A_NUMBER}


def test_a_quantity_that_is_not_a_number_goes_to_the_api_as_typed() -> None:
    body, errors = request_body(typed(quantity="two"), locale="en")

    assert (body["quantity"], errors) == ("two", {})


@pytest.mark.parametrize(
    ("api_field", "form_field"),
    [
        ("body.specs.power_kw", "spec-power_kw"),
        ("body.facility.name", "facility_name"),
        ("body.facility.kind", "facility_kind"),
        ("body.contact.email", "contact_email"),
        ("body.needed_by", "needed_by"),
        ("body.quantity", "quantity"),
        ("body.specs.fuel.1", "spec-fuel"),
        ("body", ""),
        ("body.colour", ""),  # no such field on the form: the notice above it says it
    ],
)
def test_api_field_paths_name_form_fields(api_field: str, form_field: str) -> None:
    assert REQUEST_FORM_ERRORS.field_of(api_field) == form_field


def test_api_errors_become_one_translatable_message_per_field() -> None:
    shown = field_errors(
        [
            {"field": "body.settlement", "message": "String should have at least 1 character"},
            {"field": "body.specs.power_kw", "message": "must be at most 20000 kW, got 90000"},
            {"field": "body.needed_by", "message": "Value error, 2020-01-01 is in the past"},
            {"field": "body.needed_by", "message": "another"},
            {"field": "body", "message": "Field required"},
        ]
    )

    assert shown["settlement"] == REQUIRED
    assert shown["spec-power_kw"] == OUT_OF_RANGE
    assert shown["needed_by"] == "Enter a date, today or later."
    assert shown[""] == REQUIRED


def test_timeline_entries_are_labelled_by_event_type_and_unknown_types_stand_as_they_are() -> None:
    assert timeline_label("vidnova.allocation.dispatched.v1") == "Dispatched"
    assert timeline_label("vidnova.request.submitted.v2") == "Request submitted"
    assert timeline_label("vidnova.lot.painted.v1") == "vidnova.lot.painted.v1"


def _allocation(status: str, quantity: int, received: int | None = None) -> SimpleNamespace:
    return SimpleNamespace(status=status, quantity=quantity, received_quantity=received)


def _quantities(**stages: int) -> SimpleNamespace:
    return SimpleNamespace(**{"proposed": 0, "approved": 0, "dispatched": 0, "delivered": 0, **stages})


def test_a_page_catches_up_while_the_read_model_lags_the_allocations() -> None:
    delivered = [_allocation("delivered", 2, received=2), _allocation("rejected", 1)]
    # The allocation service has the delivery; the request still shows the units in delivery.
    assert request_form.catching_up(_quantities(dispatched=2), delivered)
    assert not request_form.catching_up(_quantities(delivered=2), delivered)
    # Units rejected on arrival are not delivered: one of two received agrees with delivered=1.
    assert not request_form.catching_up(_quantities(delivered=1), [_allocation("delivered", 2, received=1)])
    assert request_form.catching_up(_quantities(), [_allocation("proposed", 3)])
    assert not request_form.catching_up(_quantities(), [])
