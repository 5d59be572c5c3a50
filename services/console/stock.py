"""The stock pages' rules with no I/O: time left on a proposal, the queue's order, forms → API bodies."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from babel.dates import format_date, format_timedelta
from babel.numbers import format_decimal

from services.console import domain, registry
from services.console.domain import N_
from services.console.registry import amount_text
from shared.catalog import Category, NumberAttribute, all_categories, get_category
from shared.geography import Region, all_regions, get_region

REASON_MISSING = N_("Give a reason to reject.")
DECISION_REFUSED = N_("This proposal can no longer be decided: it was decided elsewhere or has expired.")
QUANTITY_REFUSED = N_(
    "The quantity cannot go below the units already proposed, approved, dispatched or delivered."
)
QUANTITY_INVALID = N_("Enter a whole number of units.")
WITHDRAW_REFUSED = N_("This lot cannot be withdrawn now.")
DISPATCH_INVALID = N_(
    "Check the dispatch details: the ETA is a date, each serial number at most 100 characters."
)
DISPATCH_REFUSED = N_("This allocation cannot be marked dispatched now.")
PRIORITY_LABELS = {"critical": N_("Critical"), "high": N_("High"), "medium": N_("Medium"), "low": N_("Low")}
STATUS_LABELS = {
    "proposed": N_("Proposed"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "expired": N_("Expired"),
    "released": N_("Released"),
    "dispatched": N_("Dispatched"),
    "delivered": N_("Delivered"),
    "active": N_("Active"),
    "withdrawn": N_("Withdrawn"),
}
HOME_ROWS = 10  # how many proposals, allocations and notices the home page lists
PRIORITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
# The API names a lot's location as one object; the form has a field for each part.
FORM_FIELD_OF = {"location.region": "location_region", "location.site": "site", "location": "location_region"}
HINTS = {
    "quantity": N_("Enter a whole number of units."),
    "available_from": N_("Enter a date."),
    **{name: registry.HINTS[name] for name in ("programme_id", "unit_value", "currency")},
}
LOT_FORM_ERRORS = domain.FormErrors(fields=FORM_FIELD_OF, hints=HINTS, spec_prefix="specs.")
SERIALS_SEPARATOR = re.compile(r"[\n,;]+")


@dataclass(frozen=True)
class CatalogLabels:
    """Equipment and region names in the page's language (the catalog's ``name_uk`` / ``name_en``)."""

    locale: str

    def _name(self, item: Category | Region | object) -> str:
        return str(getattr(item, "name_uk" if self.locale == "uk" else "name_en"))

    def day(self, value: date) -> str:
        return format_date(value, format="medium", locale=self.locale)

    def region(self, code: str) -> str:
        found = get_region(code)
        return self._name(found) if found is not None else code

    def category(self, name: str) -> str:
        found = get_category(name)
        return self._name(found) if found is not None else name

    def regions(self) -> list[tuple[str, str]]:
        """Every region as (code, name), by name."""
        return sorted(((r.code, self._name(r)) for r in all_regions()), key=lambda pair: pair[1])

    def categories(self) -> list[tuple[str, str]]:
        return [(c.name, self._name(c)) for c in all_categories()]

    def specs(self, category: str, specs: Mapping[str, Any]) -> list[tuple[str, str]]:
        """A lot's specs as (attribute name, value with its unit), in catalog order."""
        found = get_category(category)
        shown: list[tuple[str, str]] = []
        for attribute in found.attributes if found is not None else ():
            if attribute.name in specs:
                value = specs[attribute.name]
                if isinstance(attribute, NumberAttribute) and isinstance(value, int | float):
                    shown.append(
                        (
                            self._name(attribute),
                            f"{format_decimal(value, locale=self.locale)} {attribute.unit}",
                        )
                    )
                else:
                    shown.append((self._name(attribute), str(value)))
        return shown


@dataclass(frozen=True)
class AttributeField:
    """One catalog attribute as a form field: its label in the page's language, unit, choices, value."""

    name: str
    label: str
    unit: str | None
    choices: tuple[str, ...] | None
    value: str
    minimum: float | None = None
    maximum: float | None = None


def attribute_fields(category: str, *, locale: str, values: Mapping[str, str]) -> list[AttributeField]:
    """The fields of a category's attributes, in catalog order (none for an unknown category)."""
    found = get_category(category)
    fields: list[AttributeField] = []
    for attribute in found.attributes if found is not None else ():
        label = attribute.name_uk if locale == "uk" else attribute.name_en
        value = values.get(attribute.name, "")
        if isinstance(attribute, NumberAttribute):
            fields.append(
                AttributeField(
                    attribute.name, label, attribute.unit, None, value, attribute.minimum, attribute.maximum
                )
            )
        else:
            fields.append(AttributeField(attribute.name, label, None, attribute.values, value))
    return fields


def page_labels(locale: str) -> dict[str, Any]:
    """What the stock templates name things with: catalog and region names, priorities, statuses."""
    return {
        "labels": CatalogLabels(locale),
        "priority_labels": PRIORITY_LABELS,
        "status_labels": STATUS_LABELS,
    }


class QueuedProposal(Protocol):
    """What the approvals queue orders by."""

    @property
    def priority(self) -> str: ...

    @property
    def proposed_at(self) -> datetime: ...


Q = TypeVar("Q", bound=QueuedProposal)


def time_left(expires_at: datetime, *, now: datetime, locale: str) -> str | None:
    """Time before a proposal expires, in two units of the locale ("2 days 5 hours"); None once past."""
    remaining = expires_at - now
    if remaining <= timedelta(0):
        return None
    days, rest = divmod(int(remaining.total_seconds()), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = max(rest // 60, 1 if not (days or hours) else 0)
    units = [("day", days), ("hour", hours)] if days else [("hour", hours), ("minute", minutes)]
    spoken = [
        format_timedelta(timedelta(**{f"{unit}s": count}), threshold=1, locale=locale)
        for unit, count in units
        if count
    ]
    return " ".join(spoken)


def queue_order(proposals: Iterable[Q]) -> list[Q]:
    """Most critical first, and within a priority the oldest first."""
    return sorted(proposals, key=lambda p: (PRIORITY_RANK.get(p.priority, len(PRIORITY_RANK)), p.proposed_at))


def errors_by_field(errors: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The API's ``errors[]`` as form field → message id in the page's language (the first for each field)."""
    return LOT_FORM_ERRORS.by_field(errors)


def _number_or_text(value: str) -> int | float | str:
    """A number when the text is one (the API checks its range); otherwise the text, for the API to refuse."""
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        return value
    return int(number) if number.is_integer() else number


def _whole_or_text(value: str) -> int | str:
    stripped = value.strip()
    return int(stripped) if stripped.isdigit() else stripped


@dataclass(frozen=True)
class LotForm:
    """What the "Register lot" form holds, as typed (kept to show again after an error)."""

    category: str = ""
    specs: dict[str, str] = field(default_factory=dict)
    quantity: str = "1"
    location_region: str = ""
    site: str = ""
    available_from: str = ""
    eligible_regions: tuple[str, ...] = ()
    donor_id: str = ""
    notes: str = ""
    programme_id: str = ""
    unit_value: str = ""
    currency: str = ""

    @classmethod
    def from_fields(cls, fields: Mapping[str, str], *, eligible_regions: Iterable[str]) -> LotForm:
        """The form from its posted fields (``specs.<attribute>`` for each attribute)."""
        return cls(
            category=fields.get("category", "").strip(),
            specs={k.removeprefix("specs."): v.strip() for k, v in fields.items() if k.startswith("specs.")},
            quantity=fields.get("quantity", "").strip(),
            location_region=fields.get("location_region", "").strip(),
            site=fields.get("site", "").strip(),
            available_from=fields.get("available_from", "").strip(),
            eligible_regions=tuple(r for r in eligible_regions if r),
            donor_id=fields.get("donor_id", "").strip(),
            notes=fields.get("notes", "").strip(),
            programme_id=fields.get("programme_id", "").strip(),
            unit_value=fields.get("unit_value", "").strip(),
            currency=fields.get("currency", "").strip().upper(),
        )

    def body(self) -> dict[str, Any]:
        """The body of ``POST /v1/lots``; the allocation service validates it and names what is wrong."""
        category = get_category(self.category)
        specs: dict[str, Any] = {}
        for attribute in category.attributes if category is not None else ():
            value = self.specs.get(attribute.name, "")
            if value:
                numeric = isinstance(attribute, NumberAttribute)
                specs[attribute.name] = _number_or_text(value) if numeric else value
        body: dict[str, Any] = {
            "category": self.category,
            "specs": specs,
            "quantity": _whole_or_text(self.quantity),
            "location": {"region": self.location_region, "site": self.site},
            "eligible_regions": list(self.eligible_regions) or None,
        }
        optional = {
            "donor_id": self.donor_id,
            "available_from": self.available_from,
            "notes": self.notes,
            "programme_id": self.programme_id,
            "unit_value": amount_text(self.unit_value),
            "currency": self.currency,
        }
        body.update({name: value for name, value in optional.items() if value})
        return body


def dispatch_body(fields: Mapping[str, str]) -> dict[str, Any]:
    """The body of ``/dispatch`` from "Mark dispatched" (serial numbers one a line or comma-separated)."""
    body: dict[str, Any] = {
        name: fields.get(name, "").strip()
        for name in ("waybill", "carrier", "eta")
        if fields.get(name, "").strip()
    }
    body["serials"] = [s.strip() for s in SERIALS_SEPARATOR.split(fields.get("serials", "")) if s.strip()]
    return body


def quantity_body(value: str) -> dict[str, Any]:
    """The body of ``PATCH /v1/lots/{id}`` from the "Change quantity" form."""
    return {"quantity": _whole_or_text(value)}
