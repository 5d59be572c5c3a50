"""Behaviour of the equipment catalog and of spec validation and matching."""

import math

import pytest

from shared.catalog import (
    EnumAttribute,
    NumberAttribute,
    SpecError,
    all_categories,
    get_category,
    specs_satisfy,
    validate_lot_specs,
    validate_request_specs,
)

SPEC_CATEGORIES = {
    "generator": {"power_kw", "fuel", "phases"},
    "pump": {"flow_m3h", "head_m", "medium"},
    "transformer": {"rating_kva", "primary_kv", "secondary_kv"},
    "gas_turbine": {"power_kw", "fuel"},
    "cogeneration_unit": {"power_kw", "heat_kw", "fuel"},
    "boiler": {"power_kw", "fuel"},
    "heavy_machinery": {"kind", "capacity_t"},
}


def generator_lot(**overrides: object) -> dict[str, object]:
    """A valid generator lot's specs, with some values replaced."""
    return {"power_kw": 500, "fuel": "diesel", "phases": "three", **overrides}


def raised(category: str, specs: dict[str, object], *, lot: bool = False) -> SpecError:
    """The SpecError that validating these specs raises."""
    validate = validate_lot_specs if lot else validate_request_specs
    with pytest.raises(SpecError) as caught:
        validate(category, specs)
    return caught.value


# The catalog


def test_catalog_has_every_category_and_attribute_the_spec_names() -> None:
    catalog = {category.name: set(category.attribute_names) for category in all_categories()}

    assert catalog == SPEC_CATEGORIES


def test_categories_carry_english_and_ukrainian_labels() -> None:
    generator = get_category("generator")

    assert generator is not None
    assert (generator.name_en, generator.name_uk) == ("Generator", "Генератор")
    assert all(category.name_en and category.name_uk for category in all_categories())


def test_numbers_have_units_and_enums_have_string_values() -> None:
    for category in all_categories():
        for attribute in category.attributes:
            if isinstance(attribute, NumberAttribute):
                assert attribute.unit, attribute.name
            else:
                assert isinstance(attribute, EnumAttribute)
                assert attribute.values
                assert all(isinstance(value, str) for value in attribute.values)


def test_heavy_machinery_kinds_are_the_spec_list() -> None:
    machinery = get_category("heavy_machinery")
    assert machinery is not None
    kind = machinery.attribute("kind")

    assert isinstance(kind, EnumAttribute)
    assert set(kind.values) == {"excavator", "loader", "bulldozer", "crane", "dump_truck", "grader"}


def test_unknown_category_is_none() -> None:
    assert get_category("tank") is None


# Request specs


def test_unknown_category_names_the_category_field() -> None:
    error = raised("tank", {})

    assert error.field == "category"
    assert "tank" in error.message


def test_unknown_attribute_names_the_field() -> None:
    error = raised("generator", {"colour": "green"})

    assert error.field == "specs.colour"
    assert "colour" in error.message
    assert isinstance(error, ValueError)


def test_request_attributes_are_optional() -> None:
    assert validate_request_specs("generator", {}) == {}


def test_single_enum_value_is_normalized_to_a_list() -> None:
    assert validate_request_specs("generator", {"fuel": "diesel"}) == {"fuel": ["diesel"]}


def test_enum_list_is_sorted_and_deduplicated() -> None:
    specs = validate_request_specs("generator", {"fuel": ["gas", "diesel", "gas"]})

    assert specs == {"fuel": ["diesel", "gas"]}


def test_numbers_are_kept_as_given() -> None:
    specs = validate_request_specs("pump", {"flow_m3h": 120, "head_m": 35.5})

    assert specs == {"flow_m3h": 120, "head_m": 35.5}
    assert isinstance(specs["flow_m3h"], int)


def test_normalized_request_specs_follow_catalog_order() -> None:
    specs = validate_request_specs("generator", {"phases": "three", "power_kw": 100})

    assert list(specs) == ["power_kw", "phases"]


def test_undeclared_enum_value_is_rejected() -> None:
    error = raised("generator", {"fuel": ["diesel", "coal"]})

    assert error.field == "specs.fuel"
    assert "coal" in error.message


def test_empty_list_of_acceptable_values_is_rejected() -> None:
    assert raised("pump", {"medium": []}).field == "specs.medium"


@pytest.mark.parametrize("typed", [3, "3", 3.0, "three", "Three", " THREE "])
def test_phases_accept_what_people_type_and_answer_the_catalog_spelling(typed: object) -> None:
    assert validate_request_specs("generator", {"phases": typed}) == {"phases": ["three"]}


@pytest.mark.parametrize(("typed", "canonical"), [(110, "110"), ("110", "110"), (0.4, "0.4"), ("0,4", "0.4")])
def test_a_voltage_accepts_its_number(typed: object, canonical: str) -> None:
    assert validate_request_specs("transformer", {"secondary_kv": [typed]}) == {"secondary_kv": [canonical]}
    assert validate_request_specs("transformer", {"primary_kv": 110})["primary_kv"] == ["110"]


def test_enum_letter_case_is_ignored_and_duplicates_collapse() -> None:
    assert validate_request_specs("generator", {"fuel": ["DIESEL", "diesel", "Gas"]}) == {
        "fuel": ["diesel", "gas"]
    }


def test_a_lot_states_a_typed_enum_value_in_the_catalog_spelling() -> None:
    specs = validate_lot_specs("generator", generator_lot(phases=3, fuel="Diesel"))

    assert (specs["phases"], specs["fuel"]) == ("three", "diesel")


@pytest.mark.parametrize("bad", [2, "2", 1e400, True, "3 phases", "1_0", None, {"three": 3}])
def test_a_number_no_value_stands_for_is_rejected(bad: object) -> None:
    assert raised("generator", {"phases": bad}).field == "specs.phases"


def test_a_voltage_number_off_the_list_is_rejected() -> None:
    assert raised("transformer", {"primary_kv": 111}).field == "specs.primary_kv"


@pytest.mark.parametrize("bad", [True, -1, math.nan, math.inf, "100", None, [100]])
def test_numeric_minimum_must_be_a_non_negative_finite_number(bad: object) -> None:
    assert raised("generator", {"power_kw": bad}).field == "specs.power_kw"


def test_minimum_above_catalog_bound_is_rejected() -> None:
    error = raised("generator", {"power_kw": 10_000_000})

    assert error.field == "specs.power_kw"
    assert "at most" in error.message


def test_specs_must_be_an_object() -> None:
    with pytest.raises(SpecError) as caught:
        validate_request_specs("generator", ["power_kw"])  # type: ignore[arg-type]

    assert caught.value.field == "specs"


# Lot specs


def test_valid_lot_specs_are_returned_in_catalog_order() -> None:
    specs = validate_lot_specs("generator", {"phases": "three", "fuel": "gas", "power_kw": 250.0})

    assert specs == {"power_kw": 250.0, "fuel": "gas", "phases": "three"}
    assert list(specs) == ["power_kw", "fuel", "phases"]


def test_lot_missing_an_attribute_names_it() -> None:
    lot = generator_lot()
    del lot["phases"]

    error = raised("generator", lot, lot=True)

    assert error.field == "specs.phases"


def test_lot_with_unknown_attribute_names_it() -> None:
    assert raised("generator", generator_lot(voltage=400), lot=True).field == "specs.voltage"


def test_lot_states_one_enum_value_not_a_list() -> None:
    assert raised("generator", generator_lot(fuel=["diesel"]), lot=True).field == "specs.fuel"


def test_lot_number_must_be_a_real_number() -> None:
    assert raised("generator", generator_lot(power_kw=False), lot=True).field == "specs.power_kw"
    assert raised("generator", generator_lot(power_kw=-5), lot=True).field == "specs.power_kw"


def test_lot_in_unknown_category_names_the_category_field() -> None:
    assert raised("tank", {}, lot=True).field == "category"


# Matching


def test_bigger_generator_satisfies_smaller_minimum() -> None:
    request = validate_request_specs("generator", {"power_kw": 100})
    lot = validate_lot_specs("generator", generator_lot(power_kw=500))

    assert specs_satisfy(request, lot)


def test_smaller_generator_does_not_satisfy_bigger_minimum() -> None:
    request = validate_request_specs("generator", {"power_kw": 600})
    lot = validate_lot_specs("generator", generator_lot(power_kw=500))

    assert not specs_satisfy(request, lot)


def test_minimum_is_met_by_an_equal_value() -> None:
    assert specs_satisfy({"power_kw": 500.0}, {"power_kw": 500})


def test_enum_list_accepts_any_listed_value() -> None:
    request = validate_request_specs("generator", {"fuel": ["gas", "dual_fuel"]})

    assert specs_satisfy(request, generator_lot(fuel="gas"))
    assert specs_satisfy(request, generator_lot(fuel="dual_fuel"))


def test_enum_value_outside_the_list_does_not_satisfy() -> None:
    request = validate_request_specs("generator", {"fuel": ["gas", "dual_fuel"]})

    assert not specs_satisfy(request, generator_lot(fuel="diesel"))


def test_single_enum_string_matches_exactly() -> None:
    assert specs_satisfy({"medium": "water"}, {"medium": "water"})
    assert not specs_satisfy({"medium": "water"}, {"medium": "sludge"})


def test_unmentioned_attribute_is_unconstrained() -> None:
    assert specs_satisfy({}, generator_lot())
    assert specs_satisfy({"phases": ["three"]}, generator_lot(power_kw=1, fuel="petrol"))


def test_every_constraint_must_hold() -> None:
    request = {"power_kw": 100, "fuel": ["diesel"], "phases": ["single"]}

    assert not specs_satisfy(request, generator_lot())


def test_lot_missing_a_requested_attribute_does_not_satisfy() -> None:
    assert not specs_satisfy({"power_kw": 100}, {"fuel": "diesel"})
    assert not specs_satisfy({"fuel": ["diesel"]}, {"power_kw": 100})


def test_value_of_the_wrong_kind_does_not_satisfy() -> None:
    assert not specs_satisfy({"power_kw": 100}, {"power_kw": "500"})
    assert not specs_satisfy({"power_kw": 0}, {"power_kw": True})
    assert not specs_satisfy({"fuel": ["diesel"]}, {"fuel": 1})


def test_malformed_request_value_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        specs_satisfy({"power_kw": None}, {"power_kw": 100})


def test_integer_too_large_for_a_float_is_a_spec_error_not_a_crash() -> None:
    with pytest.raises(SpecError) as raised:
        validate_request_specs("generator", {"power_kw": 10**400})
    assert raised.value.field == "specs.power_kw"
