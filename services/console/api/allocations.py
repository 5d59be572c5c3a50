"""``/allocations``: filtered by status, donor and region; "Mark dispatched" on an approved one."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import stock
from services.console.api.frame import CsrfChecked, PersonDep, Visitor, clients_of, redirect, render
from services.console.api.lots import refused_page
from services.console.clients import ServiceRefused
from services.console.domain import REGION_PATTERN
from shared.identifiers import is_donor_id

router = APIRouter(include_in_schema=False)
FILTERABLE_STATUSES = ("proposed", "approved", "dispatched", "delivered", "rejected", "expired", "released")


@router.get("/allocations")
async def allocations_page(
    request: Request, visitor: PersonDep, status: str = "", donor_id: str = "", region: str = ""
) -> Response:
    """Allocations the person may see (the service scopes donors and region admins to their own)."""
    chosen = {
        "status": status if status in FILTERABLE_STATUSES else "",
        "donor_id": donor_id.strip() if is_donor_id(donor_id.strip()) else "",
        "region": region if REGION_PATTERN.match(region) else "",
    }
    try:
        allocations = await clients_of(request).allocation.allocations(
            visitor.caller(), **{k: v for k, v in chosen.items() if v}
        )
    except ServiceRefused as exc:
        refused_page(exc, visitor)
    context = {
        "allocations": allocations,
        "chosen": chosen,
        "statuses": FILTERABLE_STATUSES,
        **stock.page_labels(visitor.locale),
    }
    return await render(request, "allocations.html", context)


def may_dispatch(visitor: Visitor, *, donor_id: str, status: str) -> bool:
    """The donor of an approved allocation, or a coordinator or admin, may mark it dispatched."""
    account = visitor.person.account
    shipper = account.role in ("coordinator", "admin") or (
        account.role == "donor" and account.donor_id == donor_id
    )
    return status == "approved" and shipper


async def _allocation_page(
    request: Request,
    visitor: Visitor,
    allocation_id: UUID,
    *,
    message: str | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    try:
        allocation = await clients_of(request).allocation.allocation(visitor.caller(), allocation_id)
    except ServiceRefused as exc:
        refused_page(exc, visitor)
    context = {
        "a": allocation,
        "message": message,
        "typed": typed or {},
        "may_dispatch": may_dispatch(visitor, donor_id=allocation.donor_id, status=allocation.status),
        **stock.page_labels(visitor.locale),
    }
    return await render(request, "allocation.html", context, status_code=status_code)


@router.get("/allocations/{allocation_id}")
async def allocation_page(request: Request, visitor: PersonDep, allocation_id: UUID) -> Response:
    return await _allocation_page(request, visitor, allocation_id)


@router.post("/allocations/{allocation_id}/dispatch", dependencies=[CsrfChecked])
async def mark_dispatched(request: Request, visitor: PersonDep, allocation_id: UUID) -> Response:
    posted = await request.form()
    typed = {str(k): str(v) for k, v in posted.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        await clients_of(request).allocation.transition(
            visitor.caller(), allocation_id, "dispatch", stock.dispatch_body(typed)
        )
    except ServiceRefused as exc:
        if exc.status in (403, 404):
            refused_page(exc, visitor)
        message = stock.DISPATCH_INVALID if exc.status == 422 else stock.DISPATCH_REFUSED
        return await _allocation_page(
            request, visitor, allocation_id, message=message, typed=typed, status_code=exc.status
        )
    return redirect(f"/allocations/{allocation_id}")
