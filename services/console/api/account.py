"""The person's own pages: home, account (language, TOTP, password) and setting a password by link."""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from services.console import accounts, domain, sessions
from services.console.api.frame import (
    CsrfChecked,
    PersonDep,
    VisitorDep,
    client_address,
    redirect,
    render,
    runtime_of,
)

router = APIRouter(include_in_schema=False)
WRONG_CURRENT = domain.N_("The current password is wrong.")
CODE_REFUSED = domain.N_("The code is wrong or expired. Try the newest code.")


@router.get("/")
async def home(request: Request, _visitor: PersonDep) -> Response:
    return await render(request, "home.html")


@router.get("/account")
async def account_page(request: Request, _visitor: PersonDep, message: str | None = None) -> Response:
    shown = domain.N_("Your password has been changed.") if message == "password" else None
    if message == "totp":
        shown = domain.N_("Two-step sign-in is on.")
    return await render(request, "account.html", {"message": shown})


@router.post("/account/password", dependencies=[CsrfChecked])
async def change_password(
    request: Request,
    visitor: PersonDep,
    current: Annotated[str, Form(max_length=domain.MAX_PASSWORD_LENGTH)],
    new: Annotated[str, Form(max_length=domain.MAX_PASSWORD_LENGTH)],
) -> Response:
    error: str | None = None
    async with runtime_of(request).db.session() as db, db.begin():
        account = await db.merge(visitor.person.account)
        try:
            changed = await accounts.change_password(
                session=db, account=account, current=current, new=new, client_address=client_address(request)
            )
        except domain.PasswordRefused as exc:
            changed, error = False, exc.reason
    if not changed:
        return await render(
            request, "account.html", {"password_error": error or WRONG_CURRENT}, status_code=422
        )
    return redirect("/account?message=password")


def _qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (no image service, no network)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, border=2))


async def _enrolment_page(
    request: Request, visitor: VisitorDep, *, secret: str, next_path: str, error: str | None = None
) -> Response:
    assert visitor.session is not None
    uri = sessions.totp_uri(visitor.session.account, secret)
    context = {
        "secret": secret,
        "qr_svg": _qr_svg(uri),
        "next": next_path,
        "error": error,
        "required": visitor.session.row.stage == "enrol",
    }
    return await render(request, "totp.html", context, status_code=422 if error else 200)


@router.get("/account/totp")
async def totp_enrolment(
    request: Request, visitor: VisitorDep, next: str = "/account?message=totp"
) -> Response:
    if visitor.session is None or visitor.session.row.stage == "totp":
        return redirect("/sign-in?next=/account/totp")
    return await _enrolment_page(
        request, visitor, secret=sessions.new_totp_secret(), next_path=domain.safe_next(next)
    )


@router.post("/account/totp", dependencies=[CsrfChecked])
async def enable_totp(
    request: Request,
    visitor: VisitorDep,
    secret: Annotated[str, Form(min_length=16, max_length=64, pattern="^[A-Z2-7]+$")],
    code: Annotated[str, Form(max_length=12)],
    next: Annotated[str, Form(max_length=2000)] = "/account?message=totp",
) -> Response:
    if visitor.session is None or visitor.session.row.stage == "totp":
        return redirect("/sign-in?next=/account/totp")
    address = client_address(request)
    async with runtime_of(request).db.session() as db, db.begin():
        account = await db.merge(visitor.session.account)
        row = await db.merge(visitor.session.row)
        enabled = await sessions.enable_totp(session=db, account=account, secret=secret, code=code)
        if enabled and row.stage == "enrol":
            sessions.complete_session(
                db, sessions.OpenSession(row=row, account=account), client_address=address
            )
    if not enabled:
        return await _enrolment_page(
            request, visitor, secret=secret, next_path=domain.safe_next(next), error=CODE_REFUSED
        )
    return redirect(domain.safe_next(next))


@router.get("/set-password")
async def set_password_page(request: Request, token: str = "") -> Response:
    try:
        async with runtime_of(request).db.session() as db:
            account = await accounts.account_for_link(session=db, token=token)
    except accounts.LinkInvalid:
        return await render(request, "set_password.html", {"invalid": True}, status_code=410)
    # Rendered after the session closes: SQLite has one connection, and the page frame needs it too.
    return await render(request, "set_password.html", {"account": account, "token": token})


@router.post("/set-password", dependencies=[CsrfChecked])
async def set_password(
    request: Request,
    token: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=domain.MAX_PASSWORD_LENGTH)],
) -> Response:
    try:
        async with runtime_of(request).db.session() as db, db.begin():
            await accounts.set_password_by_link(
                session=db, token=token, password=password, client_address=client_address(request)
            )
    except accounts.LinkInvalid:
        return await render(request, "set_password.html", {"invalid": True}, status_code=410)
    except domain.PasswordRefused as exc:
        async with runtime_of(request).db.session() as db:
            account = await accounts.account_for_link(session=db, token=token)
        context = {"account": account, "token": token, "error": exc.reason}
        return await render(request, "set_password.html", context, status_code=422)
    return redirect("/sign-in?password=set")
