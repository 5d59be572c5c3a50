"""Small builders of valid request bodies; tests override only what they are about."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from shared.catalog import Category, LotSpecs, NumberAttribute, RequestSpecs, get_category
from shared.events.payloads import (
    AccountLinkIssued,
    AllocationDelivered,
    AllocationDispatched,
    AllocationEvent,
    AllocationProposed,
    DonorStatementIssued,
    Facility,
    FacilityServed,
    Money,
    Period,
    RequestQuantities,
    RequestStatusChanged,
    RequestSubmitted,
    RequestWaitlisted,
    StatementLine,
    StatementTotals,
)

A = TypeVar("A", bound=AllocationEvent)
L = TypeVar("L", bound=AccountLinkIssued)


def request_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /v1/requests`` body for Kharkiv."""
    body: dict[str, Any] = {
        "region": "UA-63",
        "settlement": "Харків",
        "facility": {"name": "Водоканал, насосна станція №2", "kind": "water_utility"},
        "category": "generator",
        "specs": {"power_kw": 250, "fuel": ["diesel", "gas"]},
        "quantity": 2,
        "priority": "critical",
        "needed_by": (date.today() + timedelta(days=30)).isoformat(),
        "justification": "Pumping station without grid power after the strike on 14 November.",
        "contact": {"name": "Олена Коваль", "phone": "+380 57 700 00 00", "email": "olena@example.org"},
    }
    body.update(overrides)
    return body


# --- event payloads, as the services publish them ---------------------------------------------------

KHARKIV_FACILITY = Facility(name="Водоканал, насосна станція №2", kind="water_utility")


def request_submitted(**overrides: Any) -> RequestSubmitted:
    """``request.submitted`` for a critical Kharkiv request."""
    fields: dict[str, Any] = {
        "request_id": uuid.uuid4(),
        "ref": "UA63-2026-000001",
        "region": "UA-63",
        "settlement": "Харків",
        "facility": KHARKIV_FACILITY,
        "category": "generator",
        "specs": {"power_kw": 250},
        "quantity": 2,
        "priority": "critical",
        "needed_by": date(2026, 12, 15),
        "submitted_at": datetime.now(UTC),
        "created_by": "kharkiv-admin",
    }
    return RequestSubmitted(**{**fields, **overrides})


def request_waitlisted(**overrides: Any) -> RequestWaitlisted:
    """``request.waitlisted``: nothing fits now."""
    fields: dict[str, Any] = {
        "request_id": uuid.uuid4(),
        "ref": "UA63-2026-000001",
        "region": "UA-63",
        "category": "generator",
        "priority": "high",
        "unmet_quantity": 2,
        "reason": "no compatible stock",
    }
    return RequestWaitlisted(**{**fields, **overrides})


def request_status_changed(**overrides: Any) -> RequestStatusChanged:
    """``request.status_changed`` from submitted to waitlisted."""
    fields: dict[str, Any] = {
        "request_id": uuid.uuid4(),
        "ref": "UA63-2026-000001",
        "region": "UA-63",
        "settlement": "Харків",
        "facility": KHARKIV_FACILITY,
        "category": "generator",
        "priority": "high",
        "status": "waitlisted",
        "previous_status": "submitted",
        "quantities": RequestQuantities(
            requested=2, proposed=0, approved=0, dispatched=0, delivered=0, waitlisted=2
        ),
    }
    return RequestStatusChanged(**{**fields, **overrides})


_ALLOCATION_DEFAULTS: dict[type[AllocationEvent], dict[str, Any]] = {
    AllocationProposed: {
        "reason": "nearest compatible lot",
        "expires_at": datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
    },
    AllocationDispatched: {"waybill": "WB-2026-0042", "carrier": "Nova Poshta", "serials": ["SN-1", "SN-2"]},
    AllocationDelivered: {"received_quantity": 2, "rejected_quantity": 0, "serials": ["SN-1", "SN-2"]},
}


def allocation_event(event_class: type[A], **overrides: Any) -> A:
    """Any ``allocation.*`` payload: JICA's lot for a Kharkiv request, 2 units; override what matters."""
    fields: dict[str, Any] = {
        "allocation_id": uuid.uuid4(),
        "request_id": uuid.uuid4(),
        "request_ref": "UA63-2026-000001",
        "lot_id": uuid.uuid4(),
        "donor_id": "jica",
        "region": "UA-63",
        "settlement": "Харків",
        "facility": KHARKIV_FACILITY,
        "category": "generator",
        "quantity": 2,
        "approved_by": "coord-1",
        "rejected_by": "coord-1",
        "reason": "request cancelled",
        "proposed_at": datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
        **_ALLOCATION_DEFAULTS.get(event_class, {}),
    }
    known = {name: value for name, value in fields.items() if name in event_class.model_fields}
    return event_class(**{**known, **overrides})


def account_link(event_class: type[L], **overrides: Any) -> L:
    """``account.invited`` / ``account.password_reset`` for a Kharkiv region admin, in Ukrainian."""
    account_id = overrides.pop("account_id", uuid.uuid4())
    fields: dict[str, Any] = {
        "account_id": account_id,
        "email": "olena.koval@kharkiv.example.org",
        "display_name": "Олена Коваль",
        "locale": "uk",
        "link": f"https://console.vidnova.example/password/{uuid.uuid4().hex}",
        "expires_at": datetime.now(UTC) + timedelta(hours=72),
    }
    return event_class(**{**fields, **overrides})


def donor_statement(**overrides: Any) -> DonorStatementIssued:
    """``donor.statement_issued``: JICA's November 2026, 21 units delivered to two facilities."""
    fields: dict[str, Any] = {
        "donor_id": "jica",
        "donor_name_en": "JICA",
        "donor_name_uk": "Японське агентство JICA",
        "month": "2026-11",
        "period": Period(start=date(2026, 11, 1), end=date(2026, 11, 30)),
        "issued_at": datetime(2026, 12, 1, 0, 5, tzinfo=UTC),
        "totals": StatementTotals(
            proposed=30, approved=26, dispatched=24, delivered=21, rejected_on_receipt=3, facilities_served=2,
            median_days_approval_to_delivery=4.5,
            value_delivered=[
                Money(currency="USD", amount=Decimal("84000.50")),
                Money(currency="JPY", amount=Decimal("1200000")),
            ],
        ),
        "lines": [
            StatementLine(
                region="UA-63", programme_id="jica-erp-2",
                programme_name_en="Emergency Recovery Programme, phase 2",
                programme_name_uk="Програма екстреного відновлення, фаза 2",
                delivered=15, rejected_on_receipt=3, facilities_served=1,
                value_delivered=[Money(currency="JPY", amount=Decimal("1200000"))],
            ),
            StatementLine(
                region="UA-51", delivered=6, rejected_on_receipt=0, facilities_served=1,
                value_delivered=[Money(currency="USD", amount=Decimal("84000.50"))],
            ),
        ],
        "facilities": [
            FacilityServed(
                region="UA-63", settlement="Kharkiv", facility_name="Saltivka Water Pumping Station",
                request_refs=["UA63-2026-000001"], categories=["generator"], units_received=15,
            ),
            FacilityServed(
                region="UA-51", settlement="Odesa", facility_name="Odesa Regional Hospital",
                request_refs=["UA51-2026-000009"], categories=["generator"], units_received=6,
            ),
        ],
    }  # fmt: skip
    return DonorStatementIssued(**{**fields, **overrides})


def lot_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /v1/lots`` body: JICA's diesel generators in a Kyiv warehouse, for any region."""
    body: dict[str, Any] = {
        "category": "generator",
        "specs": {"power_kw": 500, "fuel": "diesel", "phases": "three"},
        "quantity": 4,
        "location": {"region": "UA-32", "site": "Бориспіль, логістичний центр"},
        "available_from": date.today().isoformat(),
        "eligible_regions": None,
        "notes": "Caterpillar C15, containerised, with 8 h fuel tanks.",
    }
    body.update(overrides)
    return body


# --- equipment specs, derived from the catalog so that a new category is tested without a new line here ---


def catalog_lot_specs(category: str) -> LotSpecs:
    """A valid lot's specs for any catalog category: each number a tenth of the way into its range
    (in the catalog's unit), each enumeration its first value."""
    return {
        attribute.name: _inside(attribute, 0.1)
        if isinstance(attribute, NumberAttribute)
        else attribute.values[0]
        for attribute in _catalog_category(category).attributes
    }


def catalog_request_specs(category: str) -> RequestSpecs:
    """A valid request's specs that ``catalog_lot_specs(category)`` meets: each minimum a twentieth of the
    way into its range, each enumeration's first value the one acceptable."""
    return {
        attribute.name: _inside(attribute, 0.05)
        if isinstance(attribute, NumberAttribute)
        else [attribute.values[0]]
        for attribute in _catalog_category(category).attributes
    }


def _catalog_category(name: str) -> Category:
    found = get_category(name)
    if found is None:
        raise KeyError(f"no catalog category {name!r}")
    return found


def _inside(attribute: NumberAttribute, fraction: float) -> float:
    """The value that fraction of the way into the attribute's range (past its minimum if unbounded)."""
    lowest = attribute.minimum or 0.0
    highest = attribute.maximum if attribute.maximum is not None else lowest + 1000
    value = lowest + (highest - lowest) * fraction
    return int(value) if float(value).is_integer() else value
