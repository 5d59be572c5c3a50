"""HTTP routes of the requests service: turn input into a use-case call, nothing more."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests import service
from services.requests.models import Request
from services.requests.schemas import (
    CancelIn,
    RequestCreate,
    RequestOut,
    RequestPage,
    RequestPatch,
    problems,
)
from services.requests.shapes import to_public
from shared import idempotency
from shared.auth import CurrentPrincipal, Principal, require_roles
from shared.db import read_one_snapshot
from shared.events.payloads import Priority, RequestStatus
from shared.fields import IsoDateTime, Text
from shared.idempotency import IdempotencyKeyHeader
from shared.problems import reject_unknown_query
from shared.service import SessionDep

router = APIRouter(prefix="/v1/requests", tags=["requests"], dependencies=[Depends(reject_unknown_query)])
Filer = Annotated[Principal, Depends(require_roles("region_admin", "coordinator", "admin"))]
Canceller = Filer
Coordinator = Annotated[Principal, Depends(require_roles("coordinator", "admin"))]
MAX_REF_LENGTH = 32  # the column's width
MAX_QUERY_LENGTH = 100


@router.post(
    "",
    status_code=201,
    response_model=RequestOut,
    summary="File a request",
    responses={
        201: {"headers": {"Location": {"description": "The new request", "schema": {"type": "string"}}}},
        **problems(400, 401, 403, 409, 413, 422),
    },
)
async def create_request(
    body: RequestCreate,
    principal: Filer,
    session: SessionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    async def submit() -> idempotency.StoredResponse:
        request = await service.submit_request(session=session, body=body, principal=principal)
        return idempotency.StoredResponse.created(
            await _public(session, request), f"/v1/requests/{request.id}"
        )

    return await idempotency.create_once(
        session, caller=service.author(principal), key=idempotency_key, body=body, create=submit
    )


@router.get(
    "",
    response_model=RequestPage,
    summary="List requests (newest first)",
    responses=problems(401, 403, 422),
)
async def list_requests(
    principal: CurrentPrincipal,
    session: SessionDep,
    region: str | None = None,
    status: RequestStatus | None = None,
    category: str | None = None,
    priority: Priority | None = None,
    created_after: IsoDateTime | None = None,
    ref: Annotated[
        Text | None, Query(max_length=MAX_REF_LENGTH, description="Exact tracking code, any case")
    ] = None,
    q: Annotated[
        Text | None,
        Query(
            max_length=MAX_QUERY_LENGTH, description="Text in the ref, settlement or facility name, any case"
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> RequestPage:
    rows, next_cursor = await service.list_requests(
        session=session,
        principal=principal,
        region=region,
        status=status,
        category=category,
        priority=priority,
        created_after=created_after,
        limit=limit,
        cursor=cursor,
        ref=ref,
        text=q,
    )
    return RequestPage(items=[to_public(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{request_id}",
    response_model=RequestOut,
    summary="A request with quantities and timeline",
    responses=problems(401, 404, 422),
)
async def get_request(request_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> RequestOut:
    await read_one_snapshot(session)  # quantities and timeline from the same moment
    request = await service.get_visible_request(session=session, request_id=request_id, principal=principal)
    return await _public(session, request)


@router.post(
    "/{request_id}/cancel",
    response_model=RequestOut,
    summary="Cancel a request (closed short if something was delivered)",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
async def cancel_request(
    request_id: UUID, body: CancelIn, principal: Canceller, session: SessionDep
) -> RequestOut:
    async with session.begin():
        request = await service.cancel_request(
            session=session, request_id=request_id, reason=body.reason, principal=principal
        )
        return await _public(session, request)


@router.patch(
    "/{request_id}",
    response_model=RequestOut,
    summary="Change a request's priority (coordinators)",
    responses=problems(400, 401, 403, 404, 409, 413, 422),
)
async def update_request(
    request_id: UUID, body: RequestPatch, principal: Coordinator, session: SessionDep
) -> RequestOut:
    async with session.begin():
        request = await service.change_priority(
            session=session, request_id=request_id, priority=body.priority, principal=principal
        )
        return await _public(session, request)


async def _public(session: AsyncSession, request: Request) -> RequestOut:
    """The request with its timeline."""
    await session.flush()
    return to_public(request, timeline=await service.timeline_of(session=session, request_id=request.id))
