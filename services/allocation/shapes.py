"""Dependencies and public shapes shared by the allocation service's routes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Request

from services.allocation.models import Allocation, Demand, Lot
from services.allocation.schemas import AllocationOut, FacilityOut, LocationOut, LotOut, LotQuantitiesOut
from services.allocation.settings import Policy


async def get_policy(request: Request) -> Policy:
    """FastAPI dependency: the policy this process was configured with."""
    policy: Policy = request.app.state.allocation_policy
    return policy


PolicyDep = Annotated[Policy, Depends(get_policy)]


def lot_out(lot: Lot) -> LotOut:
    """The public shape of a lot."""
    status: Literal["active", "withdrawn"] = "withdrawn" if lot.withdrawn_at is not None else "active"
    return LotOut(
        id=lot.id,
        donor_id=lot.donor_id,
        category=lot.category,
        specs=lot.specs,
        quantity=lot.quantity,
        location=LocationOut(region=lot.location_region, site=lot.location_site),
        available_from=lot.available_from,
        eligible_regions=lot.eligible_regions,
        notes=lot.notes,
        status=status,
        quantities=LotQuantitiesOut(
            total=lot.quantity,
            free=lot.free,
            proposed=lot.proposed,
            approved=lot.approved,
            dispatched=lot.dispatched,
            delivered=lot.delivered,
            rejected_on_delivery=lot.rejected_on_delivery,
        ),
        created_by=lot.created_by,
        created_at=lot.created_at,
        withdrawn_at=lot.withdrawn_at,
    )


def allocation_out(allocation: Allocation, demand: Demand) -> AllocationOut:
    """The public shape of an allocation, with the request it serves."""
    return AllocationOut.model_validate(
        {
            **allocation.model_dump(exclude={"created_at"}),
            "proposed_at": allocation.created_at,
            "request_ref": demand.ref,
            "settlement": demand.settlement,
            "facility": FacilityOut.model_validate(
                {"name": demand.facility_name, "kind": demand.facility_kind}
            ),
        }
    )
