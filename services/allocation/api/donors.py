"""``/v1/donors`` and ``/v1/programmes``: the donor registry (admins write; coordinators and donors read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from services.allocation import donors, programmes
from services.allocation.domain import DonorKind
from services.allocation.schemas import (
    DonorCreate,
    DonorOut,
    DonorPage,
    DonorPatch,
    ProgrammeCreate,
    ProgrammeOut,
    ProgrammePage,
    ProgrammePatch,
    problems,
)
from services.allocation.shapes import donor_out, programme_out
from shared import idempotency
from shared.auth import Principal, require_roles
from shared.fields import CountryCode
from shared.idempotency import IdempotencyKeyHeader
from shared.identifiers import DONOR_ID_MAX, DONOR_ID_PATTERN
from shared.problems import reject_unknown_query
from shared.service import SessionDep

router = APIRouter(prefix="/v1/donors", tags=["donors"], dependencies=[Depends(reject_unknown_query)])
programmes_router = APIRouter(
    prefix="/v1/programmes", tags=["programmes"], dependencies=[Depends(reject_unknown_query)]
)
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Reader = Annotated[Principal, Depends(require_roles("donor", "coordinator", "admin"))]
RegistryId = Annotated[str, Path(min_length=1, max_length=DONOR_ID_MAX, pattern=DONOR_ID_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=200)]
CREATED: dict[int | str, dict[str, Any]] = {
    201: {"headers": {"Location": {"description": "The new entry", "schema": {"type": "string"}}}}
}


@router.post(
    "",
    status_code=201,
    response_model=DonorOut,
    summary="Register a donor (admin)",
    responses={**CREATED, **problems(400, 401, 403, 409, 413, 422)},
)
async def register_donor(
    body: DonorCreate, principal: Admin, session: SessionDep, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    async def register() -> idempotency.StoredResponse:
        donor = await donors.register_donor(session=session, body=body, principal=principal)
        return idempotency.StoredResponse.created(donor_out(donor), f"/v1/donors/{donor.id}")

    return await idempotency.create_once(
        session, caller=principal.sub, key=idempotency_key, body=body, create=register
    )


@router.get("", response_model=DonorPage, summary="List donors (by id)", responses=problems(401, 403, 422))
async def list_donors(
    principal: Reader,
    session: SessionDep,
    kind: DonorKind | None = None,
    country: Annotated[CountryCode | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DonorPage:
    rows, next_cursor = await donors.list_donors(
        session=session, principal=principal, kind=kind, country=country, limit=limit, cursor=cursor
    )
    return DonorPage(items=[donor_out(donor) for donor in rows], next_cursor=next_cursor)


@router.get("/{donor_id}", response_model=DonorOut, summary="A donor", responses=problems(401, 403, 404, 422))
async def get_donor(donor_id: RegistryId, principal: Reader, session: SessionDep) -> DonorOut:
    return donor_out(await donors.get_visible_donor(session=session, donor_id=donor_id, principal=principal))


@router.patch(
    "/{donor_id}",
    response_model=DonorOut,
    summary="Change a donor's names, kind, country or contacts (admin)",
    responses=problems(400, 401, 403, 404, 413, 422),
)
async def update_donor(
    donor_id: RegistryId, body: DonorPatch, principal: Admin, session: SessionDep
) -> DonorOut:
    async with session.begin():
        return donor_out(await donors.update_donor(session=session, donor_id=donor_id, body=body))


@programmes_router.post(
    "",
    status_code=201,
    response_model=ProgrammeOut,
    summary="Register a donor's programme (admin)",
    responses={**CREATED, **problems(400, 401, 403, 409, 413, 422)},
)
async def register_programme(
    body: ProgrammeCreate, principal: Admin, session: SessionDep, idempotency_key: IdempotencyKeyHeader = None
) -> JSONResponse:
    async def register() -> idempotency.StoredResponse:
        programme = await programmes.register_programme(session=session, body=body, principal=principal)
        return idempotency.StoredResponse.created(programme_out(programme), f"/v1/programmes/{programme.id}")

    return await idempotency.create_once(
        session, caller=principal.sub, key=idempotency_key, body=body, create=register
    )


@programmes_router.get(
    "", response_model=ProgrammePage, summary="List programmes (by id)", responses=problems(401, 403, 422)
)
async def list_programmes(
    principal: Reader,
    session: SessionDep,
    donor_id: Annotated[
        str | None, Query(min_length=1, max_length=DONOR_ID_MAX, pattern=DONOR_ID_PATTERN)
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ProgrammePage:
    rows, next_cursor = await programmes.list_programmes(
        session=session, principal=principal, donor_id=donor_id, limit=limit, cursor=cursor
    )
    return ProgrammePage(items=[programme_out(row) for row in rows], next_cursor=next_cursor)


@programmes_router.get(
    "/{programme_id}",
    response_model=ProgrammeOut,
    summary="A programme",
    responses=problems(401, 403, 404, 422),
)
async def get_programme(programme_id: RegistryId, principal: Reader, session: SessionDep) -> ProgrammeOut:
    programme = await programmes.get_visible_programme(
        session=session, programme_id=programme_id, principal=principal
    )
    return programme_out(programme)


@programmes_router.patch(
    "/{programme_id}",
    response_model=ProgrammeOut,
    summary="Change a programme's names, period, budget or partner (admin)",
    responses=problems(400, 401, 403, 404, 413, 422),
)
async def update_programme(
    programme_id: RegistryId, body: ProgrammePatch, principal: Admin, session: SessionDep
) -> ProgrammeOut:
    async with session.begin():
        return programme_out(
            await programmes.update_programme(session=session, programme_id=programme_id, body=body)
        )
