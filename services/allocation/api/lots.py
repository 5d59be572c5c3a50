"""``/v1/lots``: donors' inventory."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from services.allocation import inventory
from services.allocation.donors import donors_by_id, find_donor
from services.allocation.schemas import (
    LotCreate,
    LotOut,
    LotPage,
    LotPatch,
    problems,
)
from services.allocation.shapes import PolicyDep, lot_out
from shared import idempotency
from shared.auth import Principal, require_roles
from shared.fields import CATEGORY_ENUM, REGION_ENUM
from shared.idempotency import IdempotencyKeyHeader
from shared.identifiers import DONOR_ID_MAX, DONOR_ID_PATTERN
from shared.problems import reject_unknown_query
from shared.service import SessionDep

router = APIRouter(prefix="/v1/lots", tags=["lots"], dependencies=[Depends(reject_unknown_query)])
LotKeeper = Annotated[Principal, Depends(require_roles("donor", "coordinator", "admin"))]


@router.post(
    "",
    status_code=201,
    response_model=LotOut,
    summary="Register a lot (donors for themselves; coordinators name the donor)",
    responses={
        201: {"headers": {"Location": {"description": "The new lot", "schema": {"type": "string"}}}},
        **problems(400, 401, 403, 409, 413, 422),
    },
)
async def register_lot(
    body: LotCreate,
    principal: LotKeeper,
    session: SessionDep,
    policy: PolicyDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    async def register() -> idempotency.StoredResponse:
        lot, _ = await inventory.register_lot(session=session, body=body, principal=principal, policy=policy)
        shown = lot_out(lot, await find_donor(session, lot.donor_id))
        return idempotency.StoredResponse.created(shown, f"/v1/lots/{lot.id}")

    return await idempotency.create_once(
        session, caller=principal.sub, key=idempotency_key, body=body, create=register
    )


@router.get("", response_model=LotPage, summary="List lots (newest first)", responses=problems(401, 403, 422))
async def list_lots(
    principal: LotKeeper,
    session: SessionDep,
    donor_id: Annotated[
        str | None, Query(min_length=1, max_length=DONOR_ID_MAX, pattern=DONOR_ID_PATTERN)
    ] = None,
    category: Annotated[
        str | None, Query(min_length=1, max_length=40, json_schema_extra=CATEGORY_ENUM)
    ] = None,
    region: Annotated[
        str | None,
        Query(min_length=1, max_length=8, description="The lot's location", json_schema_extra=REGION_ENUM),
    ] = None,
    programme_id: Annotated[
        str | None, Query(min_length=1, max_length=DONOR_ID_MAX, pattern=DONOR_ID_PATTERN)
    ] = None,
    status: Literal["active", "withdrawn"] | None = None,
    available: Annotated[
        bool | None, Query(description="Only lots with (true) or without (false) free stock")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> LotPage:
    rows, next_cursor = await inventory.list_lots(
        session=session,
        principal=principal,
        donor_id=donor_id,
        category=category,
        region=region,
        programme_id=programme_id,
        status=status,
        available=available,
        limit=limit,
        cursor=cursor,
    )
    donors = await donors_by_id(session, (lot.donor_id for lot in rows))
    return LotPage(items=[lot_out(lot, donors.get(lot.donor_id)) for lot in rows], next_cursor=next_cursor)


@router.get(
    "/{lot_id}",
    response_model=LotOut,
    summary="A lot with its quantities",
    responses=problems(401, 403, 404, 422),
)
async def get_lot(lot_id: UUID, principal: LotKeeper, session: SessionDep) -> LotOut:
    lot = await inventory.get_visible_lot(session=session, lot_id=lot_id, principal=principal)
    return lot_out(lot, await find_donor(session, lot.donor_id))


@router.patch(
    "/{lot_id}",
    response_model=LotOut,
    summary="Change a lot's total quantity (never below what is committed)",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
async def adjust_lot(
    lot_id: UUID, body: LotPatch, principal: LotKeeper, session: SessionDep, policy: PolicyDep
) -> LotOut:
    async with session.begin():
        lot, _ = await inventory.adjust_quantity(
            session=session, lot_id=lot_id, quantity=body.quantity, principal=principal, policy=policy
        )
        return lot_out(lot, await find_donor(session, lot.donor_id))


@router.post(
    "/{lot_id}/withdraw",
    response_model=LotOut,
    summary="Withdraw a lot's free stock (committed units still go to their requests)",
    responses=problems(401, 403, 404, 409, 422),
)
async def withdraw_lot(lot_id: UUID, principal: LotKeeper, session: SessionDep) -> LotOut:
    async with session.begin():
        lot = await inventory.withdraw_lot(session=session, lot_id=lot_id, principal=principal)
        return lot_out(lot, await find_donor(session, lot.donor_id))
