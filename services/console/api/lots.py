"""``/lots``: donors' inventory — the list, "Register lot" from the catalog, "Change quantity", "Withdraw"."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, NoReturn
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from services.console import registry, stock
from services.console.api.frame import (
    CsrfChecked,
    PageForbidden,
    Visitor,
    clients_of,
    redirect,
    render,
    role_in,
)
from services.console.clients import AllocationClient, ServiceRefused
from services.console.schemas import Lot, Programme
from shared.geography import get_region
from shared.identifiers import is_donor_id

router = APIRouter(include_in_schema=False)


StockKeeperDep = Annotated[Visitor, role_in("donor", "coordinator", "admin")]  # a donor: its own lots


def refused_page(exc: ServiceRefused, visitor: Visitor) -> NoReturn:
    """A refusal as a page: 403 for what the role may not see, 404 for what is not there."""
    if exc.status == 403 or (exc.status == 404 and visitor.person.account.role == "donor"):
        # The service hides other donors' lots and allocations behind 404: a donor sees "not yours".
        raise PageForbidden from exc
    raise HTTPException(404 if exc.status == 404 else 400) from exc


@router.get("/lots")
async def lots_page(
    request: Request, visitor: StockKeeperDep, status: str = "", donor_id: str = "", programme_id: str = ""
) -> Response:
    """The lots the person may see; a donor's or a programme's when the registry pages link here."""
    filters = {"status": status} if status in ("active", "withdrawn") else {}
    for name, value in (("donor_id", donor_id), ("programme_id", programme_id)):
        if is_donor_id(value):  # registry ids have the donor id's shape
            filters[name] = value
    lots = await clients_of(request).allocation.lots(visitor.caller(), **filters)
    context = {"lots": lots, "status": status, "chosen": filters, **stock.page_labels(visitor.locale)}
    return await render(request, "lots.html", context)


async def programme_choices(request: Request, visitor: Visitor, *, donor_id: str = "") -> dict[str, Any]:
    """The programmes "Register lot" offers, under their donor's name: the donor's own, or every donor's
    (just the typed donor's once a coordinator has typed one)."""
    client, caller = clients_of(request).allocation, visitor.caller()
    try:
        programmes, donors = await client.programmes(caller), await client.donors(caller)
    except ServiceRefused:
        programmes, donors = [], []
    only = donor_id if is_donor_id(donor_id) else ""
    return {
        "programme_groups": registry.programmes_by_donor(programmes, only=only),
        "registered_donors": {donor.id: donor for donor in donors},
        **registry.page_labels(visitor.locale),
    }


async def _lot_form_page(
    request: Request,
    visitor: Visitor,
    form: stock.LotForm,
    errors: dict[str, str] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "form": form,
        "errors": errors or {},
        "fields": stock.attribute_fields(form.category, locale=visitor.locale, values=form.specs),
        "names_donor": visitor.person.account.role != "donor",
        # One key per rendering: a double submission of this form registers one lot.
        "idempotency_key": uuid.uuid4().hex,
        **stock.page_labels(visitor.locale),
        **await programme_choices(request, visitor, donor_id=form.donor_id),
    }
    return await render(request, "lot_new.html", context, status_code=status_code)


@router.get("/lots/new")
async def new_lot_page(
    request: Request, visitor: StockKeeperDep, category: str = "", region: str = ""
) -> Response:
    """The form, prefilled from "Offer stock" on /needs: the category, and the region as eligible region."""
    eligible = (region,) if get_region(region) is not None else ()
    return await _lot_form_page(request, visitor, stock.LotForm(category=category, eligible_regions=eligible))


@router.get("/lots/new/specs")
async def lot_specs_fragment(request: Request, visitor: StockKeeperDep, category: str = "") -> Response:
    """The chosen category's attribute fields (htmx swaps them in when "Category" changes)."""
    fields = stock.attribute_fields(category, locale=visitor.locale, values={})
    return await render(request, "fragments/lot_specs.html", {"fields": fields, "errors": {}})


@router.get("/lots/new/programmes")
async def lot_programmes_fragment(request: Request, visitor: StockKeeperDep, donor_id: str = "") -> Response:
    """The typed donor's programmes (htmx swaps them in when "Donor" changes)."""
    context = {"form": stock.LotForm(donor_id=donor_id), "errors": {}}
    context |= await programme_choices(request, visitor, donor_id=donor_id)
    return await render(request, "fragments/lot_programme.html", context)


@router.post("/lots/new", dependencies=[CsrfChecked])
async def register_lot(request: Request, visitor: StockKeeperDep) -> Response:
    posted = await request.form()
    fields = {str(k): str(v) for k, v in posted.items() if isinstance(v, str)}
    form = stock.LotForm.from_fields(
        fields, eligible_regions=[str(v) for v in posted.getlist("eligible_regions")]
    )
    if fields.get("show") == "attributes":  # without JavaScript: "Show attributes" after choosing a category
        return await _lot_form_page(request, visitor, form)
    key = fields.get("idempotency_key") or uuid.uuid4().hex
    try:
        lot = await clients_of(request).allocation.register_lot(
            visitor.caller(), form.body(), idempotency_key=key
        )
    except ServiceRefused as exc:
        if exc.status in (403, 404):
            refused_page(exc, visitor)
        errors = stock.errors_by_field(exc.errors) or {"form": ""}  # the notice above the form says it
        return await _lot_form_page(request, visitor, form, errors, status_code=exc.status)
    return redirect(f"/lots/{lot.id}")


async def _lot_page(
    request: Request, visitor: Visitor, lot_id: UUID, *, message: str | None = None, status_code: int = 200
) -> Response:
    client = clients_of(request).allocation
    try:
        lot = await client.lot(visitor.caller(), lot_id)
    except ServiceRefused as exc:
        refused_page(exc, visitor)
    allocations = await client.allocations(visitor.caller(), lot_id=str(lot_id))
    context = {
        "lot": lot,
        "programme": await _programme_of(client, visitor, lot),
        "allocations": allocations,
        "message": message,
        **stock.page_labels(visitor.locale),
        **registry.page_labels(visitor.locale),
    }
    return await render(request, "lot.html", context, status_code=status_code)


async def _programme_of(client: AllocationClient, visitor: Visitor, lot: Lot) -> Programme | None:
    """The lot's programme, for its name (None when the lot names none)."""
    if lot.programme_id is None:
        return None
    try:
        return await client.programme(visitor.caller(), lot.programme_id)
    except ServiceRefused:
        return None  # the page shows the programme's id


@router.get("/lots/{lot_id}")
async def lot_page(request: Request, visitor: StockKeeperDep, lot_id: UUID) -> Response:
    return await _lot_page(request, visitor, lot_id)


@router.post("/lots/{lot_id}/quantity", dependencies=[CsrfChecked])
async def change_quantity(request: Request, visitor: StockKeeperDep, lot_id: UUID) -> Response:
    quantity = str((await request.form()).get("quantity", ""))
    try:
        await clients_of(request).allocation.change_quantity(
            visitor.caller(), lot_id, stock.quantity_body(quantity)
        )
    except ServiceRefused as exc:
        if exc.status in (403, 404):
            refused_page(exc, visitor)
        message = stock.QUANTITY_REFUSED if exc.status == 409 else stock.QUANTITY_INVALID
        return await _lot_page(request, visitor, lot_id, message=message, status_code=exc.status)
    return redirect(f"/lots/{lot_id}")


@router.post("/lots/{lot_id}/withdraw", dependencies=[CsrfChecked])
async def withdraw_lot(request: Request, visitor: StockKeeperDep, lot_id: UUID) -> Response:
    try:
        await clients_of(request).allocation.withdraw(visitor.caller(), lot_id)
    except ServiceRefused as exc:
        if exc.status in (403, 404):
            refused_page(exc, visitor)
        return await _lot_page(
            request, visitor, lot_id, message=stock.WITHDRAW_REFUSED, status_code=exc.status
        )
    return redirect(f"/lots/{lot_id}")
