"""``/v1/allocations``: proposals and their lifecycle; ``/v1/matching/run``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation import lifecycle, queries
from services.allocation.domain import AllocationStatus
from services.allocation.donors import donors_by_id, find_donor
from services.allocation.rematch import run_matching
from services.allocation.schemas import (
    AllocationOut,
    AllocationPage,
    DeliverIn,
    DispatchIn,
    MatchingRunIn,
    MatchingRunOut,
    RejectIn,
    WaitlistedOut,
    problems,
)
from services.allocation.shapes import PolicyDep, allocation_out
from shared.auth import CurrentPrincipal, Principal, require_roles
from shared.fields import REGION_ENUM
from shared.identifiers import DONOR_ID_MAX, DONOR_ID_PATTERN
from shared.problems import reject_unknown_query
from shared.service import SessionDep

router = APIRouter(
    prefix="/v1/allocations", tags=["allocations"], dependencies=[Depends(reject_unknown_query)]
)
matching_router = APIRouter(
    prefix="/v1/matching", tags=["matching"], dependencies=[Depends(reject_unknown_query)]
)
Coordinator = Annotated[Principal, Depends(require_roles("coordinator", "admin"))]
Shipper = Annotated[Principal, Depends(require_roles("donor", "coordinator", "admin"))]
Receiver = Annotated[Principal, Depends(require_roles("region_admin", "coordinator", "admin"))]
TRANSITION_PROBLEMS = problems(400, 401, 403, 404, 409, 413, 422)


@router.get(
    "",
    response_model=AllocationPage,
    summary="List allocations (newest first)",
    responses=problems(401, 403, 422),
)
async def list_allocations(
    principal: CurrentPrincipal,
    session: SessionDep,
    status: AllocationStatus | None = None,
    request_id: UUID | None = None,
    lot_id: UUID | None = None,
    donor_id: Annotated[
        str | None, Query(min_length=1, max_length=DONOR_ID_MAX, pattern=DONOR_ID_PATTERN)
    ] = None,
    region: Annotated[str | None, Query(min_length=1, max_length=8, json_schema_extra=REGION_ENUM)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AllocationPage:
    rows, next_cursor = await queries.list_allocations(
        session=session,
        principal=principal,
        status=status,
        request_id=request_id,
        lot_id=lot_id,
        donor_id=donor_id,
        region=region,
        limit=limit,
        cursor=cursor,
    )
    donors = await donors_by_id(session, (a.donor_id for a, _ in rows))
    return AllocationPage(
        items=[allocation_out(a, d, donors.get(a.donor_id)) for a, d in rows], next_cursor=next_cursor
    )


@router.get(
    "/{allocation_id}",
    response_model=AllocationOut,
    summary="An allocation",
    responses=problems(401, 404, 422),
)
async def get_allocation(
    allocation_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> AllocationOut:
    allocation, demand = await queries.get_visible_allocation(
        session=session, allocation_id=allocation_id, principal=principal
    )
    return allocation_out(allocation, demand, await find_donor(session, allocation.donor_id))


@router.post(
    "/{allocation_id}/approve",
    response_model=AllocationOut,
    summary="Approve a proposal (coordinators)",
    responses=problems(401, 403, 404, 409, 422),
)
async def approve(allocation_id: UUID, principal: Coordinator, session: SessionDep) -> AllocationOut:
    async with session.begin():
        moved = await lifecycle.approve(session=session, allocation_id=allocation_id, principal=principal)
        return await moved_out(session, moved)


@router.post(
    "/{allocation_id}/reject",
    response_model=AllocationOut,
    summary="Reject a proposal (coordinators); the lot is not proposed again for this request",
    responses=TRANSITION_PROBLEMS,
)
async def reject(
    allocation_id: UUID, body: RejectIn, principal: Coordinator, session: SessionDep, policy: PolicyDep
) -> AllocationOut:
    async with session.begin():
        moved = await lifecycle.reject(
            session=session,
            allocation_id=allocation_id,
            reason=body.reason,
            principal=principal,
            policy=policy,
        )
        return await moved_out(session, moved)


@router.post(
    "/{allocation_id}/dispatch",
    response_model=AllocationOut,
    summary="Record an approved allocation as shipped (the donor owning the lot, coordinators)",
    responses=TRANSITION_PROBLEMS,
)
async def dispatch(
    allocation_id: UUID,
    principal: Shipper,
    session: SessionDep,
    body: Annotated[DispatchIn | None, Body()] = None,
) -> AllocationOut:
    details = body or DispatchIn()
    shipment = lifecycle.Shipment(
        waybill=details.waybill, carrier=details.carrier, eta=details.eta, serials=tuple(details.serials)
    )
    async with session.begin():
        moved = await lifecycle.dispatch(
            session=session, allocation_id=allocation_id, shipment=shipment, principal=principal
        )
        return await moved_out(session, moved)


@router.post(
    "/{allocation_id}/deliver",
    response_model=AllocationOut,
    summary="Record what arrived (the request's region admin, coordinators)",
    responses=TRANSITION_PROBLEMS,
)
async def deliver(
    allocation_id: UUID, body: DeliverIn, principal: Receiver, session: SessionDep, policy: PolicyDep
) -> AllocationOut:
    receipt = lifecycle.Receipt(
        received_quantity=body.received_quantity, rejected_quantity=body.rejected_quantity, note=body.note
    )
    async with session.begin():
        moved = await lifecycle.deliver(
            session=session, allocation_id=allocation_id, receipt=receipt, principal=principal, policy=policy
        )
        return await moved_out(session, moved)


@matching_router.post(
    "/run",
    response_model=MatchingRunOut,
    summary="Re-match now (coordinators): one category, or every category with open demand",
    responses=problems(400, 401, 403, 413, 422),
)
async def run(
    principal: Coordinator,
    session: SessionDep,
    policy: PolicyDep,
    body: Annotated[MatchingRunIn | None, Body()] = None,
) -> MatchingRunOut:
    categories, outcome = await run_matching(
        session, category=(body or MatchingRunIn()).category, policy=policy
    )
    pairs = await queries.by_ids_with_demands(session, outcome.proposed)
    donors = await donors_by_id(session, (a.donor_id for a, _ in pairs))
    return MatchingRunOut(
        categories=categories,
        proposed=[allocation_out(a, d, donors.get(a.donor_id)) for a, d in pairs],
        waitlisted=[WaitlistedOut(request_id=r, unmet_quantity=n) for r, n in outcome.waitlisted.items()],
    )


async def moved_out(session: AsyncSession, moved: lifecycle.Moved) -> AllocationOut:
    """A transitioned allocation's public shape, with its donor's names."""
    donor = await find_donor(session, moved.allocation.donor_id)
    return allocation_out(moved.allocation, moved.demand, donor)
