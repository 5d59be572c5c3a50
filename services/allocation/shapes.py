"""Dependencies and public shapes shared by the allocation service's routes."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Depends, Request

from services.allocation.events import donor_names
from services.allocation.models import Allocation, Demand, Donor, Lot, Programme
from services.allocation.schemas import (
    AllocationOut,
    DonorOut,
    FacilityOut,
    LocationOut,
    LotOut,
    LotQuantitiesOut,
    MoneyOut,
    PeriodOut,
    ProgrammeOut,
)
from services.allocation.settings import Policy
from shared.fields import currency_digits


async def get_policy(request: Request) -> Policy:
    """FastAPI dependency: the policy this process was configured with."""
    policy: Policy = request.app.state.allocation_policy
    return policy


PolicyDep = Annotated[Policy, Depends(get_policy)]


def lot_out(lot: Lot, donor: Donor | None) -> LotOut:
    """The public shape of a lot; ``donor`` is its registered donor (None when the id is not registered)."""
    status: Literal["active", "withdrawn"] = "withdrawn" if lot.withdrawn_at is not None else "active"
    return LotOut(
        id=lot.id,
        donor_id=lot.donor_id,
        **donor_names(donor),
        category=lot.category,
        specs=lot.specs,
        quantity=lot.quantity,
        location=LocationOut(region=lot.location_region, site=lot.location_site),
        available_from=lot.available_from,
        eligible_regions=lot.eligible_regions,
        notes=lot.notes,
        programme_id=lot.programme_id,
        unit_value=money_text(lot.unit_value, lot.currency) if lot.unit_value is not None else None,
        currency=lot.currency,
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


def allocation_out(allocation: Allocation, demand: Demand, donor: Donor | None) -> AllocationOut:
    """The public shape of an allocation, with the request it serves and its donor's names."""
    return AllocationOut.model_validate(
        {
            **allocation.model_dump(exclude={"created_at"}),
            **donor_names(donor),
            "proposed_at": allocation.created_at,
            "request_ref": demand.ref,
            "priority": demand.priority,
            "settlement": demand.settlement,
            "facility": FacilityOut.model_validate(
                {"name": demand.facility_name, "kind": demand.facility_kind}
            ),
        }
    )


def money_text(amount: Decimal, currency: str | None) -> str:
    """An amount as decimal text with its currency's decimal places (``1500000.00`` USD, ``9000000`` JPY)."""
    digits = currency_digits(currency) if currency else 2
    return f"{Decimal(amount):.{digits}f}"


def donor_out(donor: Donor) -> DonorOut:
    """The public shape of a donor."""
    return DonorOut.model_validate(donor.model_dump())


def programme_out(programme: Programme) -> ProgrammeOut:
    """The public shape of a programme."""
    return ProgrammeOut(
        id=programme.id,
        donor_id=programme.donor_id,
        name_en=programme.name_en,
        name_uk=programme.name_uk,
        period=PeriodOut(start=programme.starts_on, end=programme.ends_on),
        budget=MoneyOut(
            currency=programme.budget_currency,
            amount=money_text(programme.budget_amount, programme.budget_currency),
        ),
        implementing_partner=programme.implementing_partner,
        created_at=programme.created_at,
        updated_at=programme.updated_at,
    )
