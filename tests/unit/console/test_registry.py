"""The registry pages' pure parts: names by language, forms → API bodies, API fields → form fields."""

from __future__ import annotations

from dataclasses import dataclass

from services.console import domain, registry, stock


@dataclass(frozen=True)
class Named:
    donor_id: str
    donor_name_en: str | None
    donor_name_uk: str | None


def test_a_donor_is_named_in_the_page_language_and_by_its_id_when_not_registered() -> None:
    registered = Named("undp", "UNDP Ukraine", "ПРООН в Україні")
    unregistered = Named("acme", None, None)
    assert domain.name_in(registered, "uk", of="donor") == "ПРООН в Україні"
    assert domain.name_in(registered, "en", of="donor") == "UNDP Ukraine"
    assert domain.name_in(unregistered, "uk", of="donor") == "acme"


def test_the_donor_form_sends_what_was_typed_with_emails_split() -> None:
    form = registry.DonorForm.from_fields(
        {"id": " jica ", "name_en": "JICA", "name_uk": "JICA", "kind": "government", "country": "jp"}
        | {"contact_emails": "a@jica.example, b@jica.example\nc@jica.example"}
    )
    assert form.body() == {
        "id": "jica",
        "name_en": "JICA",
        "name_uk": "JICA",
        "kind": "government",
        "country": "JP",
        "contact_emails": ["a@jica.example", "b@jica.example", "c@jica.example"],
    }
    assert "id" not in form.changes()


def test_the_programme_form_takes_a_decimal_comma_and_spaces_in_the_budget() -> None:
    form = registry.ProgrammeForm.from_fields(
        {
            "id": "p",
            "name_en": "P",
            "name_uk": "П",
            "period_start": "2025-01-01",
            "period_end": "2025-12-31",
            "budget_amount": "42 500 000,50",
            "budget_currency": "usd",
        }
    )
    body = form.body("undp")
    assert body["donor_id"] == "undp"
    assert body["budget"] == {"currency": "USD", "amount": "42500000.50"}
    assert body["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    assert "implementing_partner" not in body


def test_api_fields_map_to_the_form_fields_that_show_them() -> None:
    errors = registry.errors_by_field(
        [
            {"field": "body.period.end", "message": "Value error, must not be before the start"},
            {"field": "body.budget.amount", "message": "USD amounts have at most 2 decimal place(s)"},
            {"field": "body.contact_emails.1", "message": "value is not a valid email address"},
            {"field": "body.name_uk", "message": "Field required"},
        ]
    )
    assert errors == {
        "period_end": registry.HINTS["period_end"],
        "budget_amount": registry.HINTS["budget_amount"],
        "contact_emails": registry.HINTS["contact_emails"],
        "name_uk": domain.FIELD_REQUIRED,
    }


def test_a_lot_sends_its_programme_and_unit_value_only_when_given() -> None:
    typed = {"category": "generator", "quantity": "1", "location_region": "UA-32", "site": "S"}
    assert "programme_id" not in stock.LotForm.from_fields(typed, eligible_regions=[]).body()
    form = stock.LotForm.from_fields(
        typed | {"programme_id": "p", "unit_value": "12 500,5", "currency": "eur"}, eligible_regions=[]
    )
    body = form.body()
    assert (body["programme_id"], body["unit_value"], body["currency"]) == ("p", "12500.5", "EUR")


def test_money_and_countries_read_in_the_page_language() -> None:
    assert registry.RegistryLabels("en").money("42500000.00", "USD") == "$42,500,000.00"
    assert registry.RegistryLabels("uk").country("JP") == "Японія"
    assert ("UA", "Ukraine") in registry.RegistryLabels("en").countries()
