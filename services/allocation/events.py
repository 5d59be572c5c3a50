"""Payloads of the events the allocation service publishes, built from its rows."""

from __future__ import annotations

from typing import Any, TypeVar

from services.allocation.models import Allocation, Demand, Lot
from shared.events import payloads as p

SOURCE = "allocation"
_Event = TypeVar("_Event", bound=p.AllocationEvent)


def allocation_event(kind: type[_Event], allocation: Allocation, demand: Demand, **details: Any) -> _Event:
    """An ``allocation.*`` payload: everything a consumer needs, so that none looks anything up."""
    return kind.model_validate(
        {
            "allocation_id": allocation.id,
            "request_id": allocation.request_id,
            "request_ref": demand.ref,
            "lot_id": allocation.lot_id,
            "donor_id": allocation.donor_id,
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
    )
