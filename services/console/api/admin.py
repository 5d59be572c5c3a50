"""Admin pages: accounts (invite, change role or scope, password link, deactivate) and the sign-in audit."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from services.console import accounts, domain
from services.console.api.frame import (
    AdminDep,
    CsrfChecked,
    client_address,
    console_settings,
    redirect,
    render,
    runtime_of,
)
from services.console.schemas import ScopeForm
from services.console.shapes import account_row, audit_row

router = APIRouter(prefix="/admin", include_in_schema=False)
EVENT_LABELS = {
    "sign_in": domain.N_("Signed in"),
    "sign_out": domain.N_("Signed out"),
    "failure": domain.N_("Failed sign-in"),
    "lockout": domain.N_("Locked out"),
    "invitation": domain.N_("Invited"),
    "password_reset": domain.N_("Password link sent"),
    "password_set": domain.N_("Password set"),
    "role_change": domain.N_("Role changed"),
    "deactivation": domain.N_("Deactivated"),
}
MESSAGES = {
    "invited": domain.N_("The invitation is on its way by e-mail."),
    "role": domain.N_("The role has been changed."),
    "reset": domain.N_("A new password link is on its way by e-mail."),
    "deactivated": domain.N_("The account is deactivated and its sessions have ended."),
}
EMAIL_TAKEN = domain.N_("An account with this email already exists.")


async def _accounts_page(
    request: Request, *, message: str | None = None, error: str | None = None
) -> Response:
    async with runtime_of(request).db.session() as db:
        rows = [account_row(a) for a in await accounts.list_accounts(session=db)]
    context = {"accounts": rows, "message": message, "error": error}
    return await render(request, "admin_accounts.html", context, status_code=422 if error else 200)


@router.get("/accounts")
async def accounts_page(request: Request, _admin: AdminDep, done: str | None = None) -> Response:
    return await _accounts_page(request, message=MESSAGES.get(done or ""))


@router.post("/accounts/invite", dependencies=[CsrfChecked])
async def invite(
    request: Request,
    admin: AdminDep,
    email: Annotated[str, Form(max_length=320)],
    display_name: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form(max_length=32)],
    region: Annotated[str, Form(max_length=16)] = "",
    donor_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        chosen, region_code, donor = ScopeForm(role=role, region=region, donor_id=donor_id).parsed()
        new = accounts.NewAccount(
            email=email, display_name=display_name, role=chosen, region=region_code, donor_id=donor
        )
        async with runtime_of(request).db.session() as db, db.begin():
            await accounts.invite(
                session=db,
                new=new,
                admin=admin.person.account,
                public_url=console_settings(request).public_url,
                client_address=client_address(request),
            )
    except domain.ScopeInvalid as exc:
        return await _accounts_page(request, error=str(exc))
    except accounts.AccountExists:
        return await _accounts_page(request, error=EMAIL_TAKEN)
    return redirect("/admin/accounts?done=invited")


@router.post("/accounts/{account_id}/role", dependencies=[CsrfChecked])
async def change_role(
    request: Request,
    admin: AdminDep,
    account_id: UUID,
    role: Annotated[str, Form(max_length=32)],
    region: Annotated[str, Form(max_length=16)] = "",
    donor_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        chosen, region_code, donor = ScopeForm(role=role, region=region, donor_id=donor_id).parsed()
        async with runtime_of(request).db.session() as db, db.begin():
            await accounts.change_role(
                session=db,
                account_id=account_id,
                role=chosen,
                region=region_code,
                donor_id=donor,
                admin=admin.person.account,
                client_address=client_address(request),
            )
    except domain.ScopeInvalid as exc:
        return await _accounts_page(request, error=str(exc))
    return redirect("/admin/accounts?done=role")


@router.post("/accounts/{account_id}/reset", dependencies=[CsrfChecked])
async def send_password_link(request: Request, admin: AdminDep, account_id: UUID) -> Response:
    async with runtime_of(request).db.session() as db, db.begin():
        await accounts.reset_password(
            session=db,
            account_id=account_id,
            admin=admin.person.account,
            public_url=console_settings(request).public_url,
            client_address=client_address(request),
        )
    return redirect("/admin/accounts?done=reset")


@router.post("/accounts/{account_id}/deactivate", dependencies=[CsrfChecked])
async def deactivate(request: Request, admin: AdminDep, account_id: UUID) -> Response:
    async with runtime_of(request).db.session() as db, db.begin():
        await accounts.deactivate(
            session=db,
            account_id=account_id,
            actor_id=admin.person.account.id,
            client_address=client_address(request),
        )
    return redirect("/admin/accounts?done=deactivated")


@router.get("/sign-ins")
async def sign_ins_page(request: Request, _admin: AdminDep) -> Response:
    async with runtime_of(request).db.session() as db:
        rows = [audit_row(event, email) for event, email in await accounts.list_sign_in_events(session=db)]
    return await render(request, "admin_sign_ins.html", {"events": rows, "event_labels": EVENT_LABELS})
