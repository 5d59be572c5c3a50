"""The new-request form, pure: catalog attributes as fields, the form as an API body, API errors by field."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.console import domain
from services.console.domain import N_, Locale
from shared.catalog import EnumAttribute, get_category

SPEC_PREFIX = "spec-"
FACILITY_KINDS: dict[str, str] = {
    "hospital": N_("Hospital"),
    "water_utility": N_("Water utility"),
    "heating_plant": N_("Heating plant"),
    "power_grid": N_("Power grid"),
    "school": N_("School"),
    "shelter": N_("Shelter"),
    "other": N_("Other"),
}
PRIORITIES: dict[str, str] = {
    "critical": N_("Critical"),
    "high": N_("High"),
    "medium": N_("Medium"),
    "low": N_("Low"),
}
STATUSES: dict[str, str] = {
    "submitted": N_("Submitted"),
    "waitlisted": N_("Waitlisted"),
    "partially_allocated": N_("Partially allocated"),
    "allocated": N_("Allocated"),
    "approved": N_("Approved"),
    "in_delivery": N_("In delivery"),
    "fulfilled": N_("Fulfilled"),
    "cancelled": N_("Cancelled"),
    "closed": N_("Closed"),
}
# The catalog's enumerated values as people read them (numbers, such as voltages, stand as they are).
CHOICES: dict[str, str] = {
    "diesel": N_("Diesel"),
    "gas": N_("Gas"),
    "petrol": N_("Petrol"),
    "dual_fuel": N_("Dual fuel"),
    "biogas": N_("Biogas"),
    "biomass": N_("Biomass"),
    "coal": N_("Coal"),
    "fuel_oil": N_("Fuel oil"),
    "electric": N_("Electric"),
    "single": N_("Single-phase"),
    "three": N_("Three-phase"),
    "water": N_("Water"),
    "wastewater": N_("Wastewater"),
    "sludge": N_("Sludge"),
    "excavator": N_("Excavator"),
    "loader": N_("Loader"),
    "bulldozer": N_("Bulldozer"),
    "crane": N_("Crane"),
    "dump_truck": N_("Dump truck"),
    "grader": N_("Grader"),
}
TIMELINE: dict[str, str] = {
    "request.submitted": N_("Request submitted"),
    "request.updated": N_("Priority changed"),
    "request.cancelled": N_("Request cancelled"),
    "request.fulfilled": N_("Request fulfilled"),
    "request.status_changed": N_("Status changed"),
    "request.waitlisted": N_("Waiting for stock"),
    "allocation.proposed": N_("Allocation proposed"),
    "allocation.approved": N_("Allocation approved"),
    "allocation.rejected": N_("Allocation rejected"),
    "allocation.expired": N_("Proposal expired"),
    "allocation.released": N_("Allocation released"),
    "allocation.dispatched": N_("Dispatched"),
    "allocation.delivered": N_("Delivered"),
}
# The form's own fields and where each sits in the API's body.
API_PATHS: dict[str, str] = {
    "region": "region",
    "settlement": "settlement",
    "facility_name": "facility.name",
    "facility_kind": "facility.kind",
    "category": "category",
    "quantity": "quantity",
    "priority": "priority",
    "needed_by": "needed_by",
    "justification": "justification",
    "contact_name": "contact.name",
    "contact_phone": "contact.phone",
    "contact_email": "contact.email",
}
FORM_FIELDS: dict[str, str] = {path: field for field, path in API_PATHS.items()}
HINTS: dict[str, str] = {
    "quantity": N_("Enter a whole number from 1 to 1000."),
    "needed_by": N_("Enter a date, today or later."),
    "contact_phone": N_("Enter a phone number: digits, spaces, +, brackets and dashes."),
    "contact_email": N_("Enter an email address such as name@example.org."),
    "justification": N_("Describe the need in at most 4000 characters."),
    "region": N_("Choose the region."),
    "category": N_("Choose a category."),
}
REQUEST_FORM_ERRORS = domain.FormErrors(
    fields=FORM_FIELDS, hints=HINTS, spec_prefix=SPEC_PREFIX, closed=True, general=""
)
REQUIRED = domain.FIELD_REQUIRED
NOT_A_NUMBER = N_("Enter a number.")
OUT_OF_RANGE = domain.VALUE_NOT_ALLOWED
INVALID = domain.FIELD_INVALID
_NUMBER = re.compile(r"^-?[0-9]+([.,][0-9]+)?$")


@dataclass(frozen=True)
class SpecField:
    """One catalog attribute as a form field: a minimum with its unit, or choices of acceptable values."""

    name: str
    label: str
    unit: str | None
    choices: tuple[str, ...]


def spec_fields(category: str, locale: Locale) -> list[SpecField]:
    """The fields a category's attributes need, labelled in the page's language; none for no category."""
    found = get_category(category)
    if found is None:
        return []
    return [
        SpecField(
            name=SPEC_PREFIX + attribute.name,
            label=attribute.name_uk if locale == "uk" else attribute.name_en,
            unit=None if isinstance(attribute, EnumAttribute) else attribute.unit,
            choices=attribute.values if isinstance(attribute, EnumAttribute) else (),
        )
        for attribute in found.attributes
    ]


def timeline_label(event_type: str) -> str:
    """The message id for a timeline entry's CloudEvents type (``vidnova.request.submitted.v1``)."""
    name = re.sub(r"\.v[0-9]+$", "", event_type.removeprefix("vidnova."))
    return TIMELINE.get(name, event_type)


def _first(form: Mapping[str, Sequence[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def _number(text: str) -> int | float:
    value = float(text.replace(",", "."))
    return int(value) if value.is_integer() else value


def request_body(
    form: Mapping[str, Sequence[str]], *, locale: Locale
) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``POST /v1/requests`` body from the typed form, and the fields that are not even numbers."""
    errors: dict[str, str] = {}
    specs: dict[str, Any] = {}
    for field in spec_fields(_first(form, "category"), locale):
        if field.choices:
            chosen = [value for value in form.get(field.name, []) if value]
            if chosen:
                specs[field.name.removeprefix(SPEC_PREFIX)] = chosen
            continue
        typed = _first(form, field.name)
        if typed and not _NUMBER.match(typed):
            errors[field.name] = NOT_A_NUMBER
        elif typed:
            specs[field.name.removeprefix(SPEC_PREFIX)] = _number(typed)
    quantity = _first(form, "quantity")
    contact: dict[str, Any] = {"name": _first(form, "contact_name")}
    for optional in ("phone", "email"):
        if typed := _first(form, f"contact_{optional}"):
            contact[optional] = typed
    body: dict[str, Any] = {
        "region": _first(form, "region").upper(),
        "settlement": _first(form, "settlement"),
        "facility": {"name": _first(form, "facility_name"), "kind": _first(form, "facility_kind")},
        "category": _first(form, "category"),
        "specs": specs,
        "quantity": int(quantity) if quantity.isdigit() else quantity,
        "priority": _first(form, "priority") or "medium",
        "needed_by": _first(form, "needed_by"),
        "justification": _first(form, "justification"),
        "contact": contact,
    }
    return body, errors


def field_errors(api_errors: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The API's ``errors[]`` as a message id per form field (``""`` for what names no field)."""
    return REQUEST_FORM_ERRORS.by_field(api_errors)


CATCH_UP_ROUNDS = 15  # rounds of 2 s: how long a page waits for the requests service to catch up


def catching_up(quantities: Any, allocations: Sequence[Any]) -> bool:
    """Whether the requests service's read model is behind the allocation service (its source of truth).

    The allocation service answers at once; the request's quantities follow when its events are consumed.
    Summed by stage as the requests service sums them (delivered counts the units received), the two
    agree once the read model has caught up."""
    by_stage = dict.fromkeys(("proposed", "approved", "dispatched", "delivered"), 0)
    for allocation in allocations:
        if allocation.status == "delivered":
            by_stage["delivered"] += allocation.received_quantity or 0
        elif allocation.status in by_stage:
            by_stage[allocation.status] += allocation.quantity
    return any(getattr(quantities, stage) != units for stage, units in by_stage.items())
