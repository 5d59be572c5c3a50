"""HTTP routes of the requests service: turn input into a use-case call, nothing more."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from services.requests import service
from services.requests.models import Request, TimelineEntry
from services.requests.schemas import (
    FacilityOut,
    QuantitiesOut,
    RequestCreate,
    RequestOut,
    RequestPage,
    TimelineEntryOut,
)
from shared.auth import CurrentPrincipal, Principal, require_roles
from shared.events.payloads import Priority, RequestStatus
from shared.service import SessionDep

router = APIRouter(prefix="/v1/requests", tags=["requests"])
Filer = Annotated[Principal, Depends(require_roles("region_admin", "coordinator", "admin"))]


@router.post("", status_code=201, response_model=RequestOut, summary="File a request")
async def create_request(
    body: RequestCreate, principal: Filer, session: SessionDep, response: Response
) -> RequestOut:
    async with session.begin():
        request = await service.submit_request(session=session, body=body, principal=principal)
    response.headers["Location"] = f"/v1/requests/{request.id}"
    return to_public(request, timeline=await service.timeline_of(session=session, request_id=request.id))


@router.get("", response_model=RequestPage, summary="List requests (newest first)")
async def list_requests(
    principal: CurrentPrincipal,
    session: SessionDep,
    region: str | None = None,
    status: RequestStatus | None = None,
    category: str | None = None,
    priority: Priority | None = None,
    created_after: datetime | None = None,
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
    )
    return RequestPage(items=[to_public(r) for r in rows], next_cursor=next_cursor)


@router.get("/{request_id}", response_model=RequestOut, summary="A request with quantities and timeline")
async def get_request(request_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> RequestOut:
    request = await service.get_visible_request(session=session, request_id=request_id, principal=principal)
    return to_public(request, timeline=await service.timeline_of(session=session, request_id=request.id))


def to_public(request: Request, timeline: list[TimelineEntry] | None = None) -> RequestOut:
    """The public shape of a request."""
    q = service.quantities_of(request)
    return RequestOut(
        id=request.id,
        ref=request.ref,
        region=request.region,
        settlement=request.settlement,
        facility=FacilityOut(name=request.facility_name, kind=request.facility_kind),
        category=request.category,
        specs=request.specs,
        quantity=request.quantity,
        priority=request.priority,
        needed_by=request.needed_by,
        justification=request.justification,
        contact=request.contact,
        created_by=request.created_by,
        created_at=request.created_at,
        status=request.status,
        quantities=QuantitiesOut(
            requested=q.requested,
            proposed=q.proposed,
            approved=q.approved,
            dispatched=q.dispatched,
            delivered=q.delivered,
            waitlisted=q.waitlisted,
        ),
        timeline=None
        if timeline is None
        else [
            TimelineEntryOut(
                event_id=t.event_id, type=t.event_type, at=t.occurred_at, summary=t.summary, data=t.data
            )
            for t in timeline
        ],
    )
