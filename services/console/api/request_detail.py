"""One request: status, quantities, timeline, allocations (live), "Confirm delivery", "Cancel request"."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Form, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRouter

from services.console import domain, request_form
from services.console.api.frame import (
    CsrfChecked,
    PageForbidden,
    Sections,
    Visitor,
    clients_of,
    redirect,
    render,
)
from services.console.api.requests import ReaderDep
from services.console.clients import Caller, ServiceClients, ServiceRefused
from services.console.schemas import Allocation, RequestView
from shared.catalog import get_category
from shared.geography import get_region

router = APIRouter(include_in_schema=False)
OPEN_STATUSES = frozenset(request_form.STATUSES) - {"fulfilled", "cancelled", "closed"}
ALLOCATION_STATUSES = {
    "proposed": domain.N_("Proposed"),
    "approved": domain.N_("Approved"),
    "rejected": domain.N_("Rejected"),
    "expired": domain.N_("Expired"),
    "released": domain.N_("Released"),
    "dispatched": domain.N_("Dispatched"),
    "delivered": domain.N_("Delivered"),
}
MESSAGES = {
    "cancelled": domain.N_("The request is cancelled."),
    "delivered": domain.N_("The delivery is confirmed."),
}
NOT_ALLOWED_NOW = domain.N_("This is no longer possible: the page was out of date and has been refreshed.")
DELIVERY_SUM = domain.N_("Received and rejected units must add up to the allocation's quantity.")


async def allocations_of(clients: ServiceClients, caller: Caller, request_id: UUID) -> list[Allocation]:
    """The allocations serving a request, from the allocation service (their source of truth)."""
    return await clients.allocation.allocations(caller, request_id=str(request_id))


async def _visible_request(request: Request, visitor: Visitor, request_id: UUID) -> RequestView:
    """The request, or the 403 page for a region admin (who must not learn of other regions' requests)."""
    try:
        return await clients_of(request).requests.request(visitor.caller(), request_id)
    except ServiceRefused as exc:
        if exc.status == 404 and visitor.person.account.role == "region_admin":
            raise PageForbidden from exc
        raise


async def _live_context(
    request: Request, visitor: Visitor, request_id: UUID, *, catch_up_round: int = 0
) -> dict[str, Any]:
    """What the live part of the page shows: the request and its allocations, and what the person may do.

    While the request's quantities lag behind its allocations, the part asks again every 2 s (a bounded
    number of rounds): the notification that would refresh it may have come before the page was open."""
    found = await _visible_request(request, visitor, request_id)
    allocations = await allocations_of(clients_of(request), visitor.caller(), request_id)
    role = visitor.person.account.role
    category = get_category(found.category)
    region = get_region(found.region)
    behind = catch_up_round < request_form.CATCH_UP_ROUNDS and request_form.catching_up(
        found.quantities, allocations
    )
    return {
        "item": found,
        "allocations": allocations,
        "statuses": request_form.STATUSES,
        "allocation_statuses": ALLOCATION_STATUSES,
        "priorities": request_form.PRIORITIES,
        "facility_kinds": request_form.FACILITY_KINDS,
        "may_confirm": role in ("region_admin", "coordinator"),
        "may_cancel": found.status in OPEN_STATUSES,
        "category_name": (category.name_uk if visitor.locale == "uk" else category.name_en)
        if category
        else "",
        "region_name": (region.name_uk if visitor.locale == "uk" else region.name_en) if region else "",
        "spec_fields": request_form.spec_fields(found.category, visitor.locale),
        "choice_labels": request_form.CHOICES,
        "timeline_label": request_form.timeline_label,
        "catch_up_round": catch_up_round + 1 if behind else None,
    }


async def _detail_page(
    request: Request,
    visitor: Visitor,
    request_id: UUID,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = await _live_context(request, visitor, request_id)
    context |= {"message": message, "error": error}
    return await render(request, "requests_detail.html", context, status_code=status_code)


@router.get("/requests/{request_id}")
async def request_page(request: Request, visitor: ReaderDep, request_id: UUID, done: str = "") -> Response:
    return await _detail_page(request, visitor, request_id, message=MESSAGES.get(done))


@router.get("/requests/{request_id}/live")
async def request_live(
    request: Request, visitor: ReaderDep, request_id: UUID, catch_up: Annotated[int, Query(ge=0, le=100)] = 0
) -> Response:
    """The part of the page that changes (status, quantities, timeline, allocations), re-fetched by htmx."""
    context = await _live_context(request, visitor, request_id, catch_up_round=catch_up)
    return await render(request, "fragments/request_live.html", context)


@router.post("/requests/{request_id}/cancel", dependencies=[CsrfChecked])
async def cancel_request(
    request: Request, visitor: ReaderDep, request_id: UUID, reason: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    if not reason.strip():
        return await _detail_page(request, visitor, request_id, error=request_form.REQUIRED, status_code=422)
    try:
        await clients_of(request).requests.cancel(visitor.caller(), request_id, reason.strip())
    except ServiceRefused as exc:
        if exc.status == 404 and visitor.person.account.role == "region_admin":
            raise PageForbidden from exc
        if exc.status not in (403, 409, 422):
            raise
        return await _detail_page(request, visitor, request_id, error=NOT_ALLOWED_NOW, status_code=409)
    return redirect(f"/requests/{request_id}?done=cancelled")


@router.post("/requests/{request_id}/allocations/{allocation_id}/deliver", dependencies=[CsrfChecked])
async def confirm_delivery(
    request: Request,
    visitor: ReaderDep,
    request_id: UUID,
    allocation_id: UUID,
    received_quantity: Annotated[int, Form(ge=0, le=100000)],
    rejected_quantity: Annotated[int, Form(ge=0, le=100000)] = 0,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    body: dict[str, Any] = {"received_quantity": received_quantity, "rejected_quantity": rejected_quantity}
    if note.strip():
        body["note"] = note.strip()
    try:
        await clients_of(request).allocation.transition(visitor.caller(), allocation_id, "deliver", body)
    except ServiceRefused as exc:
        if exc.status not in (403, 404, 409, 422):
            raise
        error = DELIVERY_SUM if exc.status == 422 else NOT_ALLOWED_NOW
        return await _detail_page(request, visitor, request_id, error=error, status_code=exc.status)
    return redirect(f"/requests/{request_id}?done=delivered")


async def region_admin_home(request: Request, visitor: Visitor) -> dict[str, Any]:
    """A region admin's home: deliveries to confirm, requests waitlisted, then recent activity.

    A service that is down empties its section and names itself there; the home page still shows."""
    clients, caller, sections = clients_of(request), visitor.caller(), Sections()
    return {
        "region_home": True,
        "statuses": request_form.STATUSES,
        "to_confirm": await sections.read(
            clients.allocation.allocations(caller, status="dispatched", region=caller.region or ""), empty=[]
        ),
        "waitlisted": await sections.read(clients.requests.requests(caller, status="waitlisted"), empty=[]),
        "recent": await sections.read(clients.notifications.inbox(caller, limit=10), empty=[]),
        "down": sections.down,
    }
