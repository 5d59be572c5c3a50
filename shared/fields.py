"""Field types the services' HTTP bodies share: printable text, ISO dates, known regions and categories."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from babel import Locale as BabelLocale
from babel.numbers import get_currency_precision, list_currencies
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, JsonValue

from shared.catalog import all_categories, get_category
from shared.geography import all_regions, get_region

# Newlines and tabs are text; other control characters (NUL above all, which PostgreSQL cannot store)
# and lone surrogates (which no UTF-8 encoder accepts) are not.
_ALLOWED_CONTROLS = frozenset("\n\r\t")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
REGION_CODES: list[JsonValue] = [region.code for region in all_regions()]
CATEGORY_NAMES: list[JsonValue] = [category.name for category in all_categories()]
REGION_ENUM: dict[str, JsonValue] = {"enum": REGION_CODES}
CATEGORY_ENUM: dict[str, JsonValue] = {"enum": CATEGORY_NAMES}


def _printable(value: str) -> str:
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs") and char not in _ALLOWED_CONTROLS:
            raise ValueError(f"must not contain the control character U+{ord(char):04X}")
    return value


def _iso_date_text(value: object) -> object:
    # JSON has no date type: only an ISO 8601 string is a date. Pydantic alone would take 0, or the query
    # text "0.0", as the Unix timestamp 1970-01-01.
    if not isinstance(value, str) or _NUMBER.fullmatch(value.strip()):
        raise ValueError("must be an ISO 8601 date string, e.g. 2026-12-31")
    return value


def _iso_datetime_text(value: object) -> object:
    # pydantic reads a bare number such as "15" as a Unix timestamp; the API speaks ISO 8601 only.
    if not isinstance(value, str) or _NUMBER.fullmatch(value.strip()):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-11-23T10:00:00Z")
    return value


def _known_region(value: str) -> str:
    if get_region(value) is None:
        raise ValueError(f"unknown region {value!r}; use an ISO 3166-2:UA code such as 'UA-63'")
    return value


def _known_category(value: str) -> str:
    if get_category(value) is None:
        raise ValueError(
            f"unknown category {value!r}; expected one of: {', '.join(map(str, CATEGORY_NAMES))}"
        )
    return value


Text = Annotated[str, AfterValidator(_printable)]
IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime_text)]
RegionCode = Annotated[
    str,
    Field(min_length=4, max_length=8, examples=["UA-63"], json_schema_extra=REGION_ENUM),
    AfterValidator(_known_region),
]
CategoryName = Annotated[
    str,
    Field(min_length=1, max_length=40, examples=["generator"], json_schema_extra=CATEGORY_ENUM),
    AfterValidator(_known_category),
]


class Strict(BaseModel):
    """Input models reject unknown fields so that typos are reported, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- donors and programmes: countries, currencies, amounts of money -----------------------------------
# ISO 3166-1 alpha-2 and ISO 4217 codes from the CLDR data Babel ships (a dependency already); CLDR also
# lists groupings such as "EU" or "UN" and the unknown region "ZZ", which are not countries.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ"})
_COUNTRIES = frozenset(
    code
    for code in map(str, BabelLocale("en").territories)
    if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)
_CURRENCIES = frozenset(map(str, list_currencies()))
COUNTRY_CODES: list[JsonValue] = list(sorted(_COUNTRIES))
CURRENCY_CODES: list[JsonValue] = list(sorted(_CURRENCIES))
MONEY_MAX = Decimal("999999999999.99")  # under a trillion: NUMERIC(18, 4) holds it, and so does a double


def _known_country(value: str) -> str:
    if value not in _COUNTRIES:
        raise ValueError(f"unknown country {value!r}; use an ISO 3166-1 alpha-2 code such as 'JP'")
    return value


def _known_currency(value: str) -> str:
    if value not in _CURRENCIES:
        raise ValueError(f"unknown currency {value!r}; use an ISO 4217 code such as 'USD'")
    return value


def _money_text(value: object) -> object:
    # A bool is an int to Python and 1e3 a float; an amount is a JSON number or a decimal string.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError('must be a decimal number, e.g. 1500000 or "1500000.00"')  # noqa: TRY004
    return str(value) if isinstance(value, float) else value


def currency_digits(currency: str) -> int:
    """How many decimal places amounts in this currency have (ISO 4217: JPY 0, USD 2, KWD 3)."""
    return int(get_currency_precision(currency))


def check_money_precision(amount: Decimal, currency: str) -> str | None:
    """Why an amount has more decimal places than its currency allows, or None when it fits."""
    exponent = amount.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    digits = currency_digits(currency)
    if places > digits:
        return f"{currency} amounts have at most {digits} decimal place(s)"
    return None


CountryCode = Annotated[
    str,
    Field(min_length=2, max_length=2, examples=["JP"], json_schema_extra={"enum": COUNTRY_CODES}),
    AfterValidator(_known_country),
]
CurrencyCode = Annotated[
    str,
    Field(min_length=3, max_length=3, examples=["USD"], json_schema_extra={"enum": CURRENCY_CODES}),
    AfterValidator(_known_currency),
]
MoneyAmount = Annotated[
    Decimal,
    BeforeValidator(_money_text),
    Field(ge=0, le=MONEY_MAX, allow_inf_nan=False, examples=["1500000.00"]),
]
