"""The equipment catalog (``shared/data/equipment_catalog.json``) and validation of specs against it.

A request's specs map a numeric attribute to a minimum and an enumerated attribute to the acceptable
values; a lot's specs map every attribute of its category to one exact value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any, TypeAlias, TypeGuard

RequestSpecs: TypeAlias = dict[str, float | list[str]]
LotSpecs: TypeAlias = dict[str, float | str]


class SpecError(ValueError):
    """A category or specs value the catalog does not allow; ``field`` is its path, e.g. ``specs.fuel``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class NumberAttribute:
    """A measured attribute; a request states a minimum, a lot its exact value."""

    name: str
    name_en: str
    name_uk: str
    unit: str
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, slots=True)
class EnumAttribute:
    """An attribute with a closed set of string values; a request lists acceptable ones, a lot has one."""

    name: str
    name_en: str
    name_uk: str
    values: tuple[str, ...]
    # The number a word value stands for (phases: "three" is 3); numeric values stand for themselves.
    numbers: tuple[tuple[str, float], ...] = ()

    def canonical(self, typed: object) -> str | None:
        """The catalog's spelling of what a person typed (any case, or its number), or None."""
        if isinstance(typed, str):
            folded = typed.strip().casefold()
            found = next((value for value in self.values if value.casefold() == folded), None)
            if found is not None:
                return found
            typed = _typed_number(folded)
        if not _is_number(typed) or not math.isfinite(typed):
            return None
        return next((value for value in self.values if self.number_of(value) == typed), None)

    def number_of(self, value: str) -> float | None:
        """The number a value stands for, if any."""
        named = dict(self.numbers)
        return named[value] if value in named else _typed_number(value)


Attribute: TypeAlias = NumberAttribute | EnumAttribute


@dataclass(frozen=True, slots=True)
class Category:
    """A kind of equipment and the attributes that describe it."""

    name: str
    name_en: str
    name_uk: str
    attributes: tuple[Attribute, ...]

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """Names of the category's attributes, in catalog order."""
        return tuple(attribute.name for attribute in self.attributes)

    def attribute(self, name: str) -> Attribute | None:
        """Return the attribute with this name, or None."""
        return next((attribute for attribute in self.attributes if attribute.name == name), None)


def get_category(name: str) -> Category | None:
    """Return the catalog category with this name, or None."""
    return _categories_by_name().get(name)


def all_categories() -> tuple[Category, ...]:
    """Return every category, in catalog order."""
    return tuple(_categories_by_name().values())


def validate_request_specs(category: str, specs: Mapping[str, object]) -> RequestSpecs:
    """Check a request's minimums and acceptable values; return them normalized, in catalog order."""
    found = _require_category(category)
    given = _known_attributes(found, specs)
    return {
        attribute.name: _request_value(attribute, given[attribute.name], f"specs.{attribute.name}")
        for attribute in found.attributes
        if attribute.name in given
    }


def validate_lot_specs(category: str, specs: Mapping[str, object]) -> LotSpecs:
    """Check that a lot states one valid value for every attribute of its category; return them in order."""
    found = _require_category(category)
    given = _known_attributes(found, specs)
    exact: LotSpecs = {}
    for attribute in found.attributes:
        field = f"specs.{attribute.name}"
        if attribute.name not in given:
            raise SpecError(field, f"required for category {found.name!r}")
        exact[attribute.name] = _lot_value(attribute, given[attribute.name], field)
    return exact


def specs_satisfy(request_specs: Mapping[str, object], lot_specs: Mapping[str, object]) -> bool:
    """Tell whether a lot meets every minimum and acceptable-value list of a request (normalized specs)."""
    return all(_satisfied(wanted, lot_specs.get(name)) for name, wanted in request_specs.items())


def _satisfied(wanted: object, offered: object) -> bool:
    # The value's own type says what the request means, so matching needs no catalog.
    if isinstance(wanted, str):
        return offered == wanted
    if isinstance(wanted, list | tuple):
        return isinstance(offered, str) and offered in wanted
    if _is_number(wanted):
        return _is_number(offered) and offered >= wanted
    raise TypeError(f"request spec value {wanted!r} is neither a number nor acceptable values")


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


_DECIMAL = re.compile(r"^[0-9]{1,9}([.,][0-9]{1,9})?$")


def _typed_number(text: str) -> float | None:
    """A plain decimal as people type it ("110", "0.4", "0,4"), else None."""
    return float(text.replace(",", ".")) if _DECIMAL.match(text) else None


def _require_category(name: str) -> Category:
    category = get_category(name)
    if category is None:
        expected = ", ".join(_categories_by_name())
        raise SpecError("category", f"unknown category {name!r}; expected one of: {expected}")
    return category


def _known_attributes(category: Category, specs: Mapping[str, object]) -> Mapping[str, object]:
    if not isinstance(specs, Mapping):
        raise SpecError("specs", "must be an object mapping attribute names to values")
    _reject_unrepresentable_numbers(specs)
    for name in specs:
        if category.attribute(name) is None:
            expected = ", ".join(category.attribute_names)
            raise SpecError(
                f"specs.{name}",
                f"unknown attribute {name!r} for category {category.name!r}; expected one of: {expected}",
            )
    return specs


def _reject_unrepresentable_numbers(specs: Mapping[str, object]) -> None:
    # JSON integers are unbounded; one beyond float range would overflow the range checks below.
    for name, value in specs.items():
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
            raise SpecError(f"specs.{name}", "number out of range")
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(f"specs.{name}", "must be a finite number")


def _request_value(attribute: Attribute, value: object, field: str) -> float | list[str]:
    if isinstance(attribute, NumberAttribute):
        return _number(attribute, value, field)
    return _acceptable_values(attribute, value, field)


def _lot_value(attribute: Attribute, value: object, field: str) -> float | str:
    if isinstance(attribute, NumberAttribute):
        return _number(attribute, value, field)
    return _enum_value(attribute, value, field)


def _number(attribute: NumberAttribute, value: object, field: str) -> float:
    try:
        finite = _is_number(value) and math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite:
        raise SpecError(field, f"must be a finite number in {attribute.unit}")
    assert _is_number(value)
    if value < 0:
        raise SpecError(field, f"must not be negative, got {value}")
    if attribute.minimum is not None and value < attribute.minimum:
        raise SpecError(field, f"must be at least {attribute.minimum:g} {attribute.unit}, got {value}")
    if attribute.maximum is not None and value > attribute.maximum:
        raise SpecError(field, f"must be at most {attribute.maximum:g} {attribute.unit}, got {value}")
    return value


def _acceptable_values(attribute: EnumAttribute, value: object, field: str) -> list[str]:
    candidates = value if isinstance(value, list | tuple) else [value]
    if not candidates:
        raise SpecError(field, f"must be one of {_listing(attribute)} or a non-empty list of them")
    return sorted({_enum_value(attribute, candidate, field) for candidate in candidates})


def _enum_value(attribute: EnumAttribute, value: object, field: str) -> str:
    canonical = attribute.canonical(value)
    if canonical is None:
        raise SpecError(field, f"{value!r} is not one of {_listing(attribute)}")
    return canonical


def _listing(attribute: EnumAttribute) -> str:
    return ", ".join(attribute.values)


@cache
def _categories_by_name() -> Mapping[str, Category]:
    text = (files("shared") / "data" / "equipment_catalog.json").read_text(encoding="utf-8")
    rows: list[dict[str, Any]] = json.loads(text)["categories"]
    return MappingProxyType({row["name"]: _category_from_row(row) for row in rows})


def _category_from_row(row: dict[str, Any]) -> Category:
    return Category(
        name=row["name"],
        name_en=row["name_en"],
        name_uk=row["name_uk"],
        attributes=tuple(_attribute_from_row(attribute) for attribute in row["attributes"]),
    )


def _attribute_from_row(row: dict[str, Any]) -> Attribute:
    labels = {"name": row["name"], "name_en": row["name_en"], "name_uk": row["name_uk"]}
    if row["type"] == "number":
        return NumberAttribute(
            **labels, unit=row["unit"], minimum=row.get("minimum"), maximum=row.get("maximum")
        )
    if row["type"] == "enum":
        numbers = tuple((str(value), float(number)) for value, number in row.get("numbers", {}).items())
        return EnumAttribute(**labels, values=tuple(str(value) for value in row["values"]), numbers=numbers)
    raise ValueError(f"catalog attribute {row['name']!r} has unknown type {row['type']!r}")
