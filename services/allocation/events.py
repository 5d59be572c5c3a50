"""Payloads of the events the allocation service publishes, built from its rows."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar
from uuid import UUID

from services.allocation.models import Demand, Donor, Lot, Programme
from shared.events import payloads as p

SOURCE = "allocation"
_Event = TypeVar("_Event", bound=p.AllocationEvent)


def donor_names(donor: Donor | None) -> dict[str, str | None]:
    """``donor_name_en`` and ``donor_name_uk`` of a registered donor; both None for an unregistered id."""
    return {
        "donor_name_en": donor.name_en if donor is not None else None,
        "donor_name_uk": donor.name_uk if donor is not None else None,
    }


class AllocationFacts(Protocol):
    """What an ``allocation.*`` event tells of its allocation: a stored row or one being proposed."""

    @property
    def id(self) -> UUID: ...
    @property
    def request_id(self) -> UUID: ...
    @property
    def lot_id(self) -> UUID: ...
    @property
    def donor_id(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def quantity(self) -> int: ...


def allocation_event(
    kind: type[_Event], allocation: AllocationFacts, demand: Demand, donor: Donor | None, **details: Any
) -> _Event:
    """An ``allocation.*`` payload: everything a consumer needs, so that none looks anything up.

    ``donor`` is the registered donor of the allocation (None when its id is not registered).
    """
    return kind.model_validate(
        {
            "allocation_id": allocation.id,
            "request_id": allocation.request_id,
            "request_ref": demand.ref,
            "lot_id": allocation.lot_id,
            "donor_id": allocation.donor_id,
            **donor_names(donor),
            "region": allocation.region,
            "settlement": demand.settlement,
            "facility": {"name": demand.facility_name, "kind": demand.facility_kind},
            "category": allocation.category,
            "quantity": allocation.quantity,
            **details,
        }
    )


def waitlisted(demand: Demand, *, unmet: int, reason: str) -> p.RequestWaitlisted:
    """``request.waitlisted``: units of a request no free stock serves now."""
    return p.RequestWaitlisted.model_validate(
        {
            "request_id": demand.request_id,
            "ref": demand.ref,
            "region": demand.region,
            "category": demand.category,
            "priority": demand.priority,
            "unmet_quantity": unmet,
            "reason": reason,
        }
    )


def registered(lot: Lot) -> p.InventoryRegistered:
    """``inventory.registered``: a new lot with everything it offers."""
    return p.InventoryRegistered(
        lot_id=lot.id,
        donor_id=lot.donor_id,
        category=lot.category,
        specs=lot.specs,
        quantity=lot.quantity,
        location=p.Location(region=lot.location_region, site=lot.location_site),
        available_from=lot.available_from,
        eligible_regions=lot.eligible_regions,
        notes=lot.notes,
        programme_id=lot.programme_id,
        unit_value=lot.unit_value,
        currency=lot.currency,
    )


def donor_registered(donor: Donor) -> p.DonorRegistered:
    """``donor.registered``: a new donor's names, kind and country."""
    return p.DonorRegistered(**_donor_fields(donor))


def donor_updated(donor: Donor, *, changed: list[str]) -> p.DonorUpdated:
    """``donor.updated``: the donor as it is now, and which fields the change named."""
    return p.DonorUpdated(**_donor_fields(donor), changed=changed)


def _donor_fields(donor: Donor) -> dict[str, Any]:
    return {
        "donor_id": donor.id,
        "name_en": donor.name_en,
        "name_uk": donor.name_uk,
        "kind": donor.kind,
        "country": donor.country,
    }


def programme_registered(programme: Programme, donor: Donor) -> p.ProgrammeRegistered:
    """``programme.registered``: a donor's new programme, with the donor's names."""
    return p.ProgrammeRegistered(**_programme_fields(programme, donor))


def programme_updated(programme: Programme, donor: Donor, *, changed: list[str]) -> p.ProgrammeUpdated:
    """``programme.updated``: the programme as it is now, and which fields the change named."""
    return p.ProgrammeUpdated(**_programme_fields(programme, donor), changed=changed)


def _programme_fields(programme: Programme, donor: Donor) -> dict[str, Any]:
    return {
        "programme_id": programme.id,
        "donor_id": donor.id,
        "donor_name_en": donor.name_en,
        "donor_name_uk": donor.name_uk,
        "name_en": programme.name_en,
        "name_uk": programme.name_uk,
        "period": p.Period(start=programme.starts_on, end=programme.ends_on),
        "budget": p.Money(currency=programme.budget_currency, amount=programme.budget_amount),
        "implementing_partner": programme.implementing_partner,
    }
