"""``/donors``: the donor registry — the list and "Register donor", a donor with its programmes, "Save
changes" and "Add programme". The allocation service decides who may write (admins); others read what it
shows them (a donor: itself)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from services.console import registry
from services.console.api.frame import CsrfChecked, Visitor, clients_of, redirect, render, role_in
from services.console.api.lots import refused_page
from services.console.clients import ServiceRefused
from services.console.schemas import Donor
from shared.identifiers import is_donor_id

router = APIRouter(include_in_schema=False)

RegistryReaderDep = Annotated[Visitor, role_in("donor", "coordinator", "admin")]  # a donor: itself


def _errors(exc: ServiceRefused, visitor: Visitor) -> dict[str, str]:
    """A refused write as errors beside the fields; 403 and 404 become their pages."""
    if exc.status in (403, 404):
        refused_page(exc, visitor)
    if exc.status == 409:
        return {"id": registry.ID_TAKEN}
    return registry.errors_by_field(exc.errors) or {"form": ""}  # the notice above the form says it


def _may_edit(visitor: Visitor) -> bool:
    """Whether to offer the forms: the allocation service lets admins write the registry."""
    return visitor.person.account.role == "admin"


async def _list_page(
    request: Request,
    visitor: Visitor,
    form: registry.DonorForm | None = None,
    errors: dict[str, str] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    try:
        donors = await clients_of(request).allocation.donors(visitor.caller())
    except ServiceRefused as exc:
        refused_page(exc, visitor)
    context: dict[str, Any] = {
        "donors": donors,
        "form": form or registry.DonorForm(),
        "errors": errors or {},
        "may_edit": _may_edit(visitor),
        "idempotency_key": registry.new_key(),
        **registry.page_labels(visitor.locale),
    }
    return await render(request, "donors.html", context, status_code=status_code)


@router.get("/donors")
async def donors_page(request: Request, visitor: RegistryReaderDep) -> Response:
    return await _list_page(request, visitor)


@router.post("/donors", dependencies=[CsrfChecked])
async def register_donor(request: Request, visitor: RegistryReaderDep) -> Response:
    fields = {str(k): str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    form = registry.DonorForm.from_fields(fields)
    key = fields.get("idempotency_key") or registry.new_key()
    try:
        donor = await clients_of(request).allocation.register_donor(
            visitor.caller(), form.body(), idempotency_key=key
        )
    except ServiceRefused as exc:
        return await _list_page(request, visitor, form, _errors(exc, visitor), status_code=exc.status)
    return redirect(f"/donors/{donor.id}")


async def _donor_page(
    request: Request,
    visitor: Visitor,
    donor_id: str,
    *,
    edit: registry.DonorForm | None = None,
    programme: registry.ProgrammeForm | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """A donor with its programmes; ``errors`` belong to the form given back (``edit`` or ``programme``)."""
    if not is_donor_id(donor_id):
        raise HTTPException(404)
    client = clients_of(request).allocation
    try:
        donor: Donor = await client.donor(visitor.caller(), donor_id)
        programmes = await client.programmes(visitor.caller(), donor_id=donor_id)
    except ServiceRefused as exc:
        refused_page(exc, visitor)  # a donor asking for another donor: "not yours", as for lots
    context: dict[str, Any] = {
        "donor": donor,
        "programmes": programmes,
        "edit": edit or registry.DonorForm.of(donor),
        "edit_errors": errors if edit is not None else {},
        "programme_form": programme or registry.ProgrammeForm(),
        "programme_errors": errors if programme is not None else {},
        "may_edit": _may_edit(visitor),
        "idempotency_key": registry.new_key(),
        **registry.page_labels(visitor.locale),
    }
    return await render(request, "donor.html", context, status_code=status_code)


@router.get("/donors/{donor_id}")
async def donor_page(request: Request, visitor: RegistryReaderDep, donor_id: str) -> Response:
    return await _donor_page(request, visitor, donor_id)


@router.post("/donors/{donor_id}", dependencies=[CsrfChecked])
async def update_donor(request: Request, visitor: RegistryReaderDep, donor_id: str) -> Response:
    if not is_donor_id(donor_id):
        raise HTTPException(404)
    fields = {str(k): str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    form = registry.DonorForm.from_fields({**fields, "id": donor_id})
    try:
        await clients_of(request).allocation.update_donor(visitor.caller(), donor_id, form.changes())
    except ServiceRefused as exc:
        errors = _errors(exc, visitor)
        return await _donor_page(request, visitor, donor_id, edit=form, errors=errors, status_code=exc.status)
    return redirect(f"/donors/{donor_id}")


@router.post("/donors/{donor_id}/programmes", dependencies=[CsrfChecked])
async def add_programme(request: Request, visitor: RegistryReaderDep, donor_id: str) -> Response:
    if not is_donor_id(donor_id):
        raise HTTPException(404)
    fields = {str(k): str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    form = registry.ProgrammeForm.from_fields(fields)
    key = fields.get("idempotency_key") or registry.new_key()
    try:
        await clients_of(request).allocation.register_programme(
            visitor.caller(), form.body(donor_id), idempotency_key=key
        )
    except ServiceRefused as exc:
        errors = _errors(exc, visitor)
        return await _donor_page(
            request, visitor, donor_id, programme=form, errors=errors, status_code=exc.status
        )
    return redirect(f"/donors/{donor_id}#programmes")
