"""What every page shares: the visitor's session, CSRF, the language, rendering, the error pages."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.console import domain, sessions
from services.console.accounts import AccountNotFound, set_locale
from services.console.clients import Caller, ServiceClients, ServiceUnavailable
from services.console.models import Account
from services.console.settings import ConsoleSettings
from shared.service import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Sections:
    """A page made of sections that each read one service: one that is down empties its own section.

    ``down`` names the services that did not answer, in order, for the page's notice; the rest of the
    page still shows (a home page is where people start, even when part of the system is unreachable).
    """

    down: list[str] = field(default_factory=list)

    async def read(self, what: Awaitable[T], *, empty: T) -> T:
        """What ``what`` gives, or ``empty`` when its service is unavailable (logged, named in ``down``)."""
        try:
            return await what
        except ServiceUnavailable as exc:
            log.warning("a section is empty: its service is unavailable", extra={"upstream": exc.service})
            if exc.service not in self.down:
                self.down.append(exc.service)
            return empty


SESSION_COOKIE = "vidnova_session"
ANONYMOUS_CSRF_COOKIE = "vidnova_csrf"
LOCALE_COOKIE = "vidnova_locale"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(Exception):
    """No live session: go to /sign-in and come back to ``next_path`` (or on to the factor ``step`` asks)."""

    def __init__(self, next_path: str, *, step: str | None = None) -> None:
        self.next_path = next_path
        self.step = step


class PageForbidden(Exception):
    """The person's role may not see this page."""


class CsrfRejected(Exception):
    """A state-changing request without the right CSRF token."""


@dataclass(frozen=True)
class Visitor:
    """Whoever asks for a page: a session (maybe not yet past every factor) or nobody."""

    session: sessions.OpenSession | None
    locale: domain.Locale
    csrf_token: str

    @property
    def person(self) -> sessions.OpenSession:
        """The fully signed-in session; only for routes behind ``require_person``."""
        assert self.session is not None
        return self.session

    def caller(self) -> Caller:
        """The claims of the tokens the console signs for this person."""
        account = self.person.account
        return Caller(
            sub=str(account.id),
            role=account.role,  # type: ignore[arg-type]
            region=account.region,
            donor_id=account.donor_id,
            locale=self.locale,
            access_token=self.person.row.access_token,
        )


def console_settings(request: Request) -> ConsoleSettings:
    """This process's settings."""
    settings = request.app.state.runtime.settings
    assert isinstance(settings, ConsoleSettings)
    return settings


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def clients_of(request: Request) -> ServiceClients:
    clients: ServiceClients = request.app.state.clients
    return clients


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _cookie_locale(request: Request) -> domain.Locale:
    return "en" if request.cookies.get(LOCALE_COOKIE) == "en" else "uk"


async def current_visitor(request: Request) -> Visitor:
    """The visitor of this request (its session looked up and touched once per request)."""
    cached: Visitor | None = getattr(request.state, "visitor", None)
    if cached is not None:
        return cached
    settings = console_settings(request)
    raw_id = request.cookies.get(SESSION_COOKIE)
    found: sessions.OpenSession | None = None
    if raw_id:
        async with runtime_of(request).db.session() as db, db.begin():
            found = await sessions.find_session(
                session=db,
                raw_id=raw_id,
                idle=timedelta(seconds=settings.session_idle_s),
                absolute=timedelta(seconds=settings.session_absolute_s),
            )
    if found is not None:
        locale: domain.Locale = "en" if found.account.locale == "en" else "uk"
        visitor = Visitor(session=found, locale=locale, csrf_token=found.row.csrf_token)
    else:
        visitor = Visitor(session=None, locale=_cookie_locale(request), csrf_token=_anonymous_csrf(request))
    request.state.visitor = visitor
    return visitor


def _anonymous_csrf(request: Request) -> str:
    """Before sign-in the token is a double-submit cookie (set on the answer by ``render``)."""
    token = request.cookies.get(ANONYMOUS_CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_anonymous_csrf = token
    return token


VisitorDep = Annotated[Visitor, Depends(current_visitor)]


async def require_person(request: Request, visitor: VisitorDep) -> Visitor:
    """A fully signed-in person, else back to sign-in (or on to the missing factor)."""
    asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if visitor.session is None:
        raise SignInRequired(asked)
    if visitor.session.row.stage != "full":
        step = "/sign-in/totp" if visitor.session.row.stage == "totp" else "/account/totp"
        raise SignInRequired(asked, step=step)
    return visitor


PersonDep = Annotated[Visitor, Depends(require_person)]


def role_in(*roles: str) -> Any:
    """A dependency: the signed-in person when their role is one of these, else the 403 page."""

    async def require_role(visitor: PersonDep) -> Visitor:
        if visitor.person.account.role not in roles:
            raise PageForbidden
        return visitor

    return Depends(require_role)


AdminDep = Annotated[Visitor, role_in("admin")]


async def check_csrf(request: Request, visitor: VisitorDep) -> None:
    """Every state-changing request carries the visitor's token, in a form field or htmx's header."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not hmac.compare_digest(sent, visitor.csrf_token):
        raise CsrfRejected


CsrfChecked = Depends(check_csrf)


async def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """A page in the visitor's language inside the frame: name, role, unread count, navigation."""
    visitor = await current_visitor(request)
    environment: Environment = request.app.state.pages[visitor.locale]
    person = visitor.session.account if visitor.session and visitor.session.row.stage == "full" else None
    unread: int | None = None
    if person is not None and not template.startswith("fragments/"):
        try:
            unread = await clients_of(request).notifications.unread_count(visitor.caller())
        except ServiceUnavailable:
            unread = None  # the page still shows; the inbox page says the service is down
    body = environment.get_template(template).render(
        {
            "request": request,
            "locale": visitor.locale,
            "csrf_token": visitor.csrf_token,
            "person": person,
            "navigation": domain.navigation_for(person.role) if person is not None else (),
            "unread": unread,
            "role_labels": domain.ROLE_LABELS,
            "service_down": domain.SERVICE_DOWN,
            "path": request.url.path,
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **(context or {}),
        }
    )
    response = HTMLResponse(body, status_code=status_code)
    response.headers["Content-Language"] = visitor.locale
    new_token = getattr(request.state, "new_anonymous_csrf", None)
    if new_token:
        set_cookie(request, response, ANONYMOUS_CSRF_COOKIE, new_token)
    return response


async def adopt_chosen_locale(request: Request, db: AsyncSession, account: Account) -> None:
    """A language switched on the sign-in page becomes the account's language."""
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in ("uk", "en") and chosen != account.locale:
        await set_locale(session=db, account=account, locale="en" if chosen == "en" else "uk")


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None = None
) -> None:
    """HttpOnly, SameSite=Lax, and Secure unless VIDNOVA_ENV=development (SPEC §12)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=console_settings(request).secure_cookies,
        path="/",
    )


def redirect(path: str) -> RedirectResponse:
    """See other: after a form post, the browser GETs the next page."""
    return RedirectResponse(path, status_code=303)


async def on_sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    location = (exc.step or "/sign-in") + "?next=" + quote(exc.next_path, safe="/")
    if request.headers.get("hx-request"):
        response = Response(status_code=204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location)


async def on_forbidden(request: Request, _exc: Exception) -> Response:
    return await render(request, "error.html", {"status": 403}, status_code=403)


async def on_csrf_rejected(request: Request, _exc: Exception) -> Response:
    return await render(request, "error.html", {"status": 403, "csrf": True}, status_code=403)


async def on_service_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceUnavailable)
    log.warning("a service is unavailable", extra={"upstream": exc.service, "error": str(exc)})
    return await render(request, "error.html", {"status": 503, "service": exc.service}, status_code=503)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code if exc.status_code in (400, 403, 404, 405) else 500
    return await render(request, "error.html", {"status": status}, status_code=exc.status_code)


async def on_not_found(request: Request, _exc: Exception) -> Response:
    return await render(request, "error.html", {"status": 404}, status_code=404)


async def on_invalid_form(request: Request, _exc: Exception) -> Response:
    return await render(request, "error.html", {"status": 400}, status_code=400)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("page failed", exc_info=exc)
    return await render(request, "error.html", {"status": 500}, status_code=500)


ERROR_HANDLERS: dict[type[Exception] | int, Any] = {
    SignInRequired: on_sign_in_required,
    PageForbidden: on_forbidden,
    CsrfRejected: on_csrf_rejected,
    ServiceUnavailable: on_service_unavailable,
    AccountNotFound: on_not_found,
    StarletteHTTPException: on_http_error,
    RequestValidationError: on_invalid_form,
    500: on_unexpected,
}
