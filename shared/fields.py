"""Field types the services' HTTP bodies share: printable text, ISO dates, known regions and categories."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated

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
    # JSON has no date type: only an ISO 8601 string is a date (pydantic alone would take 0 as 1970-01-01).
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date string, e.g. 2026-12-31")  # noqa: TRY004 (422, not 500)
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
