"""Sign-in through the organisation's OpenID Connect provider; role and scope come from its claims."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import StarletteOAuth2App
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import accounts, domain, sessions
from services.console.api.frame import (
    LOCALE_COOKIE,
    SESSION_COOKIE,
    adopt_chosen_locale,
    client_address,
    console_settings,
    redirect,
    render,
    runtime_of,
    set_cookie,
)
from services.console.oidc import claim

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
PROVIDER_REFUSED = domain.N_("Your organisation's sign-in did not succeed. Try again.")
NO_ROLE = domain.N_("Your organisation's sign-in gives you no role in this console. Ask an administrator.")


def _provider(request: Request) -> StarletteOAuth2App | None:
    provider: StarletteOAuth2App | None = request.app.state.identity_provider
    return provider


@router.get("/sign-in/oidc")
async def start(request: Request, next: str = "/") -> Response:
    provider = _provider(request)
    if provider is None:
        return redirect("/sign-in")
    request.session["next"] = domain.safe_next(next)
    callback = console_settings(request).public_url.rstrip("/") + "/sign-in/oidc/callback"
    response: Response = await provider.authorize_redirect(request, callback)
    return response


async def _refused(request: Request, message: str) -> Response:
    context = {"next": "/", "error": message, "oidc": True}
    return await render(request, "sign_in.html", context, status_code=401)


@router.get("/sign-in/oidc/callback")
async def callback(request: Request) -> Response:
    provider = _provider(request)
    if provider is None:
        return redirect("/sign-in")
    try:
        token = await provider.authorize_access_token(request)
    except OAuthError as exc:
        log.warning("identity provider refused the sign-in", extra={"error": exc.error})
        return await _refused(request, PROVIDER_REFUSED)
    claims = dict(token.get("userinfo") or {})
    email, role = claim(claims, "email"), claim(claims, "role")
    if email is None or role is None:
        return await _refused(request, NO_ROLE)
    address = client_address(request)
    expires_at = datetime.fromtimestamp(float(token["expires_at"]), UTC) if token.get("expires_at") else None
    try:
        async with runtime_of(request).db.session() as db, db.begin():
            account = await accounts.account_from_identity(
                session=db,
                email=email,
                display_name=claim(claims, "name") or email,
                role=role,
                region=claim(claims, "region"),
                donor_id=claim(claims, "donor_id"),
                client_address=address,
            )
            raw_id = await sessions.start_session(
                session=db,
                account=account,
                stage="full",  # the provider did every factor it requires
                client_address=address,
                access_token=str(token["access_token"]),
                access_token_expires_at=expires_at,
            )
            await adopt_chosen_locale(request, db, account)
    except (domain.ScopeInvalid, accounts.AccountInactive):
        return await _refused(request, NO_ROLE)
    response = redirect(domain.safe_next(request.session.pop("next", "/")))
    set_cookie(request, response, SESSION_COOKIE, raw_id)
    set_cookie(request, response, LOCALE_COOKIE, account.locale, max_age=365 * 24 * 3600)
    return response
