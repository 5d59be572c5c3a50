"""Sign-in (password, then the second factor), sign-out and the language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from services.console import domain, sessions
from services.console.accounts import set_locale
from services.console.api.frame import (
    LOCALE_COOKIE,
    SESSION_COOKIE,
    CsrfChecked,
    VisitorDep,
    adopt_chosen_locale,
    client_address,
    console_settings,
    redirect,
    render,
    runtime_of,
    set_cookie,
)

router = APIRouter(include_in_schema=False)
SIGN_IN_REFUSED = domain.N_("The email or password is wrong, or the account is locked for a while.")
PASSWORD_SET = domain.N_("Your password is set. Sign in with it now.")
CODE_REFUSED = domain.N_("The code is wrong or expired. Try the newest code.")


def _after_password(stage: sessions.SessionStage, next_path: str) -> str:
    if stage == "totp":
        return "/sign-in/totp?next=" + quote(next_path, safe="/")
    if stage == "enrol":
        return "/account/totp?next=" + quote(next_path, safe="/")
    return next_path


@router.get("/sign-in")
async def sign_in_page(
    request: Request, visitor: VisitorDep, next: str = "/", password: str | None = None
) -> Response:
    target = domain.safe_next(next)
    if visitor.session is not None and visitor.session.row.stage == "full":
        return redirect(target)
    oidc = console_settings(request).oidc_issuer is not None
    notice = PASSWORD_SET if password == "set" else None  # noqa: S105 - "?password=set" says it was set
    return await render(request, "sign_in.html", {"next": target, "oidc": oidc, "notice": notice})


@router.post("/sign-in", dependencies=[CsrfChecked])
async def sign_in(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=domain.MAX_PASSWORD_LENGTH)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    target = domain.safe_next(next)
    if console_settings(request).oidc_issuer is not None:
        return redirect("/sign-in")  # built-in passwords are off in OpenID Connect mode (§12)
    address = client_address(request)
    async with runtime_of(request).db.session() as db, db.begin():
        account = await sessions.check_password_step(
            session=db, email=email, password=password, client_address=address
        )
        raw_id: str | None = None
        stage: domain.SessionStage = "full"
        if account is not None:
            await adopt_chosen_locale(request, db, account)
            stage = domain.stage_after_password(role=account.role, totp_enabled=account.totp_enabled)
            raw_id = await sessions.start_session(
                session=db, account=account, stage=stage, client_address=address
            )
    if account is None or raw_id is None:
        context = {"next": target, "email": email, "error": SIGN_IN_REFUSED, "oidc": False}
        return await render(request, "sign_in.html", context, status_code=401)
    response = redirect(_after_password(stage, target))
    set_cookie(request, response, SESSION_COOKIE, raw_id)
    set_cookie(request, response, LOCALE_COOKIE, account.locale, max_age=365 * 24 * 3600)
    return response


@router.get("/sign-in/totp")
async def totp_page(request: Request, visitor: VisitorDep, next: str = "/") -> Response:
    if visitor.session is None or visitor.session.row.stage != "totp":
        return redirect("/sign-in")
    return await render(request, "sign_in_totp.html", {"next": domain.safe_next(next)})


@router.post("/sign-in/totp", dependencies=[CsrfChecked])
async def totp_step(
    request: Request,
    visitor: VisitorDep,
    code: Annotated[str, Form(max_length=12)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if visitor.session is None or visitor.session.row.stage != "totp":
        return redirect("/sign-in")
    address = client_address(request)
    async with runtime_of(request).db.session() as db, db.begin():
        open_session = visitor.session
        account = await db.merge(open_session.account)
        row = await db.merge(open_session.row)
        passed = await sessions.check_totp_step(
            session=db, account=account, code=code, client_address=address
        )
        if passed:
            sessions.complete_session(
                db, sessions.OpenSession(row=row, account=account), client_address=address
            )
    if not passed:
        context = {"next": domain.safe_next(next), "error": CODE_REFUSED}
        return await render(request, "sign_in_totp.html", context, status_code=401)
    return redirect(domain.safe_next(next))


@router.get("/sign-out")
async def sign_out_page(request: Request) -> Response:
    return await render(request, "sign_out.html")


@router.post("/sign-out", dependencies=[CsrfChecked])
async def sign_out(request: Request) -> Response:
    raw_id = request.cookies.get(SESSION_COOKIE)
    if raw_id:
        async with runtime_of(request).db.session() as db, db.begin():
            await sessions.end_session(session=db, raw_id=raw_id, client_address=client_address(request))
    response = redirect("/sign-out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language", dependencies=[CsrfChecked])
async def switch_language(
    request: Request,
    visitor: VisitorDep,
    locale: Annotated[domain.Locale, Form()],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if visitor.session is not None:
        async with runtime_of(request).db.session() as db, db.begin():
            await set_locale(session=db, account=await db.merge(visitor.session.account), locale=locale)
    response = redirect(domain.safe_next(next))
    set_cookie(request, response, LOCALE_COOKIE, locale, max_age=365 * 24 * 3600)
    return response
