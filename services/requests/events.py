"""The requests service's events: its ``SOURCE`` and the builders of the payloads it publishes."""

from __future__ import annotations

from datetime import datetime

from services.requests.domain import Quantities
from services.requests.models import Request
from shared.events import payloads as p

SOURCE = "requests"


def _identity(request: Request) -> dict[str, object]:
    """What every request event says of its request."""
    return {"request_id": request.id, "ref": request.ref, "region": request.region}


def _place(request: Request) -> dict[str, object]:
    """Where the equipment goes and what it is."""
    return {
        "settlement": request.settlement,
        "facility": {"name": request.facility_name, "kind": request.facility_kind},
        "category": request.category,
    }


def request_submitted(request: Request, *, submitted_at: datetime) -> p.RequestSubmitted:
    """A new request, as the allocation service needs it to match."""
    return p.RequestSubmitted.model_validate(
        {
            **_identity(request),
            **_place(request),
            "specs": request.specs,
            "quantity": request.quantity,
            "priority": request.priority,
            "needed_by": request.needed_by,
            "submitted_at": submitted_at,
            "created_by": request.created_by,
        }
    )


def request_cancelled(request: Request) -> p.RequestCancelled:
    """A cancelled request, or one closed short after a partial delivery."""
    return p.RequestCancelled.model_validate(
        {
            **_identity(request),
            "status": "closed" if request.delivered > 0 else "cancelled",
            "reason": request.cancel_reason,
            "delivered_quantity": request.delivered,
            "cancelled_by": request.cancelled_by,
        }
    )


def request_updated(request: Request, *, previous_priority: str, updated_by: str) -> p.RequestUpdated:
    """A request's new priority (the request row already carries it)."""
    return p.RequestUpdated.model_validate(
        {
            **_identity(request),
            "priority": request.priority,
            "previous_priority": previous_priority,
            "updated_by": updated_by,
        }
    )


def request_status_changed(request: Request, q: Quantities, previous: str) -> p.RequestStatusChanged:
    """A request's new status with the quantities that explain it."""
    return p.RequestStatusChanged.model_validate(
        {
            **_identity(request),
            **_place(request),
            "priority": request.priority,
            "status": request.status,
            "previous_status": previous,
            "quantities": {
                "requested": q.requested,
                "proposed": q.proposed,
                "approved": q.approved,
                "dispatched": q.dispatched,
                "delivered": q.delivered,
                "waitlisted": q.waitlisted,
            },
        }
    )


def request_fulfilled(request: Request, q: Quantities) -> p.RequestFulfilled:
    """Every requested unit delivered."""
    return p.RequestFulfilled.model_validate({**_identity(request), "delivered_quantity": q.delivered})
