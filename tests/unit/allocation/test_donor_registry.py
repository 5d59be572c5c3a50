"""Validation of the donor registry's bodies: ids, kinds, countries, currencies, periods, amounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.allocation.domain import may_read_donor
from services.allocation.schemas import DonorCreate, DonorPatch, ProgrammeCreate, ProgrammePatch
from services.allocation.shapes import money_text
from shared.auth import Principal
from shared.fields import check_money_precision


def donor(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "jica",
        "name_en": "Japan International Cooperation Agency (JICA)",
        "name_uk": "Японське агентство міжнародного співробітництва (JICA)",
        "kind": "government",
        "country": "JP",
        "contact_emails": ["ukraine@jica.example"],
    }
    body.update(overrides)
    return body


def programme(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "jica-erp-2",
        "donor_id": "jica",
        "name_en": "Emergency Recovery Programme, phase 2",
        "name_uk": "Програма екстреного відновлення, фаза 2",
        "period": {"start": "2024-03-01", "end": "2026-12-31"},
        "budget": {"currency": "JPY", "amount": "9000000000"},
        "implementing_partner": "JICA Ukraine Office",
    }
    body.update(overrides)
    return body


def error_fields(model: type[Any], body: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return {".".join(str(part) for part in error["loc"]) for error in caught.value.errors()}


def test_a_valid_donor_and_programme_are_accepted() -> None:
    assert DonorCreate.model_validate(donor()).country == "JP"
    parsed = ProgrammeCreate.model_validate(programme())
    assert parsed.budget.amount == Decimal("9000000000")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": "JICA"}, "id"),
        ({"id": "jica_ukraine"}, "id"),
        ({"id": "x" * 65}, "id"),
        ({"id": ""}, "id"),
        ({"kind": "bank"}, "kind"),
        ({"country": "JPN"}, "country"),
        ({"country": "XY"}, "country"),
        ({"country": "EU"}, "country"),
        ({"name_en": ""}, "name_en"),
        ({"name_uk": "a\x00b"}, "name_uk"),
        ({"contact_emails": ["not an address"]}, "contact_emails.0"),
        ({"website": "https://jica.example"}, "website"),
    ],
)
def test_an_invalid_donor_names_the_field(overrides: dict[str, Any], field: str) -> None:
    assert error_fields(DonorCreate, donor(**overrides)) == {field}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": "Phase 2"}, "id"),
        ({"donor_id": None}, "donor_id"),
        ({"period": {"start": "2026-12-31", "end": "2024-03-01"}}, "period.end"),
        ({"period": {"start": 0, "end": "2024-03-01"}}, "period.start"),
        ({"budget": {"currency": "YEN", "amount": "1"}}, "budget.currency"),
        ({"budget": {"currency": "JPY", "amount": "100.5"}}, "budget.amount"),
        ({"budget": {"currency": "USD", "amount": "1.005"}}, "budget.amount"),
        ({"budget": {"currency": "USD", "amount": -1}}, "budget.amount"),
        ({"budget": {"currency": "USD", "amount": "NaN"}}, "budget.amount"),
        ({"budget": {"currency": "USD", "amount": True}}, "budget.amount"),
        ({"budget": {"currency": "USD", "amount": "1e15"}}, "budget.amount"),
    ],
)
def test_an_invalid_programme_names_the_field(overrides: dict[str, Any], field: str) -> None:
    assert error_fields(ProgrammeCreate, programme(**overrides)) == {field}


def test_amounts_take_the_currency_decimal_places() -> None:
    assert check_money_precision(Decimal("1500000.50"), "USD") is None
    assert check_money_precision(Decimal("1.250"), "KWD") is None
    assert check_money_precision(Decimal("100.50"), "JPY") is not None
    assert check_money_precision(Decimal("100.00"), "JPY") is None  # trailing zeros are no decimals
    assert money_text(Decimal("9000000000.0000"), "JPY") == "9000000000"
    assert money_text(Decimal("1500000.5"), "USD") == "1500000.50"


def test_a_patch_keeps_omitted_fields_and_refuses_null_for_required_ones() -> None:
    assert DonorPatch.model_validate({"name_en": "JICA"}).model_dump(exclude_unset=True) == {
        "name_en": "JICA"
    }
    assert error_fields(DonorPatch, {"name_en": None}) == {"name_en"}
    assert error_fields(DonorPatch, {"id": "other"}) == {"id"}
    assert error_fields(ProgrammePatch, {"period": None}) == {"period"}
    assert error_fields(ProgrammePatch, {"donor_id": "undp"}) == {"donor_id"}
    cleared = ProgrammePatch.model_validate({"implementing_partner": None})
    assert cleared.model_dump(exclude_unset=True) == {"implementing_partner": None}


def test_donors_read_only_themselves() -> None:
    assert may_read_donor(Principal(sub="a", role="donor", donor_id="jica"), donor_id="jica")
    assert not may_read_donor(Principal(sub="a", role="donor", donor_id="undp"), donor_id="jica")
    assert may_read_donor(Principal(sub="c", role="coordinator"), donor_id="jica")
    assert not may_read_donor(Principal(sub="r", role="region_admin", region="UA-63"), donor_id="jica")
