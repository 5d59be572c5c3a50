"""The donor registry's pages with no I/O: their forms → API bodies, the API's errors → fields, choices."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel import Locale as BabelLocale
from babel.numbers import format_currency, get_currency_name

from services.console import domain
from services.console.domain import N_
from services.console.schemas import Donor, Programme
from shared.fields import COUNTRY_CODES, CURRENCY_CODES

KIND_LABELS = {
    "government": N_("Government"),
    "agency": N_("Agency"),
    "company": N_("Company"),
    "ngo": N_("Non-governmental organisation"),
}
# The currencies donors give in most, first in the choice; every ISO 4217 code follows.
COMMON_CURRENCIES = ("UAH", "USD", "EUR", "JPY", "GBP", "CHF", "CAD", "PLN", "SEK", "NOK", "DKK", "KRW")
HINTS = {
    "id": N_("Use 1 to 64 characters: a-z, 0-9 and '-'."),
    "country": N_("Choose a country."),
    "contact_emails": N_("Enter valid e-mail addresses, one a line or separated by commas."),
    "period_end": N_("The end must not be before the start."),
    "period_start": N_("Enter a date."),
    "budget_amount": N_("Enter an amount of at most the currency's decimal places, below a trillion."),
    "budget_currency": N_("Choose a currency."),
    "unit_value": N_("Enter an amount of at most the currency's decimal places, below a trillion."),
    "currency": N_("Choose a currency."),
    "programme_id": N_("Choose a programme of the lot's donor."),
}
ID_TAKEN = N_("This id is already registered.")
# The API names a programme's period and budget as objects; the form has a field for each part.
FORM_FIELD_OF = {
    "period.start": "period_start",
    "period.end": "period_end",
    "period": "period_end",
    "budget.amount": "budget_amount",
    "budget.currency": "budget_currency",
    "budget": "budget_amount",
}
REGISTRY_FORM_ERRORS = domain.FormErrors(fields=FORM_FIELD_OF, hints=HINTS)
EMAILS_SEPARATOR = re.compile(r"[\s,;]+")


def errors_by_field(errors: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The API's ``errors[]`` as form field → message id in the page's language (the first for each field)."""
    return REGISTRY_FORM_ERRORS.by_field(errors)


def new_key() -> str:
    """One Idempotency-Key per rendering of a form: submitting it twice registers once."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class RegistryLabels:
    """Kinds, countries, currencies and amounts in the page's language."""

    locale: str

    def kinds(self) -> list[tuple[str, str]]:
        return list(KIND_LABELS.items())  # labels are message ids; the template translates them

    def countries(self) -> list[tuple[str, str]]:
        names = BabelLocale.parse(self.locale).territories
        pairs = ((str(code), str(names.get(str(code), code))) for code in COUNTRY_CODES)
        return sorted(pairs, key=lambda pair: pair[1])

    def currency(self, code: str) -> str:
        return f"{code} — {get_currency_name(code, locale=self.locale)}"

    def common_currencies(self) -> list[tuple[str, str]]:
        return [(code, self.currency(code)) for code in COMMON_CURRENCIES]

    def other_currencies(self) -> list[tuple[str, str]]:
        return [(str(c), self.currency(str(c))) for c in CURRENCY_CODES if c not in COMMON_CURRENCIES]

    def country(self, code: str) -> str:
        return str(BabelLocale.parse(self.locale).territories.get(code, code))

    def money(self, amount: str, currency: str) -> str:
        """An amount in its currency, in the locale's format ("42 500 000,00 USD", "$42,500,000.00")."""
        return format_currency(Decimal(amount), currency, locale=self.locale)


@dataclass(frozen=True)
class DonorForm:
    """What "Register donor" and "Save changes" hold, as typed (kept to show again after an error)."""

    id: str = ""
    name_en: str = ""
    name_uk: str = ""
    kind: str = ""
    country: str = ""
    contact_emails: str = ""

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> DonorForm:
        return cls(**{name: fields.get(name, "").strip() for name in cls.__dataclass_fields__})

    @classmethod
    def of(cls, donor: Donor) -> DonorForm:
        """The edit form filled with a donor's current values."""
        return cls(
            id=donor.id,
            name_en=donor.name_en,
            name_uk=donor.name_uk,
            kind=donor.kind,
            country=donor.country,
            contact_emails="\n".join(donor.contact_emails),
        )

    def emails(self) -> list[str]:
        return [e for e in EMAILS_SEPARATOR.split(self.contact_emails) if e]

    def body(self) -> dict[str, Any]:
        """The body of ``POST /v1/donors``; the allocation service validates it and names what is wrong."""
        return {"id": self.id, **self.changes()}

    def changes(self) -> dict[str, Any]:
        """The body of ``PATCH /v1/donors/{id}``: every editable field, as typed."""
        return {
            "name_en": self.name_en,
            "name_uk": self.name_uk,
            "kind": self.kind,
            "country": self.country.upper(),
            "contact_emails": self.emails(),
        }


@dataclass(frozen=True)
class ProgrammeForm:
    """What "Add programme" holds, as typed."""

    id: str = ""
    name_en: str = ""
    name_uk: str = ""
    period_start: str = ""
    period_end: str = ""
    budget_amount: str = ""
    budget_currency: str = ""
    implementing_partner: str = ""

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> ProgrammeForm:
        return cls(**{name: fields.get(name, "").strip() for name in cls.__dataclass_fields__})

    def body(self, donor_id: str) -> dict[str, Any]:
        """The body of ``POST /v1/programmes`` for this donor."""
        body: dict[str, Any] = {
            "id": self.id,
            "donor_id": donor_id,
            "name_en": self.name_en,
            "name_uk": self.name_uk,
            "period": {"start": self.period_start, "end": self.period_end},
            "budget": {"currency": self.budget_currency.upper(), "amount": amount_text(self.budget_amount)},
        }
        if self.implementing_partner:
            body["implementing_partner"] = self.implementing_partner
        return body


def amount_text(typed: str) -> str:
    """An amount as the API reads it: a decimal comma becomes a point, spaces between thousands go."""
    return re.sub(r"[\s\u00a0\u202f]", "", typed).replace(",", ".")


def page_labels(locale: str) -> dict[str, Any]:
    """What the registry's templates name things with: kinds, countries, currencies, amounts."""
    return {"registry_labels": RegistryLabels(locale), "kind_labels": KIND_LABELS}


def programmes_by_donor(
    programmes: Iterable[Programme], *, only: str = ""
) -> list[tuple[str, list[Programme]]]:
    """Programmes grouped under their donor's id (just ``only``'s when given), donors in id order."""
    groups: dict[str, list[Programme]] = {}
    for programme in programmes:
        if not only or programme.donor_id == only:
            groups.setdefault(programme.donor_id, []).append(programme)
    return sorted(groups.items())
