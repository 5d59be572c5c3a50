"""The console: pages for people, accounts and sessions; everything else through the services' APIs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from services.console.api import (
    account,
    admin,
    allocations,
    approvals,
    donors,
    inbox,
    lots,
    oidc,
    reports,
    request_detail,
    requests,
    sign_in,
    subscriptions,
)
from services.console.api.frame import ERROR_HANDLERS
from services.console.clients import TokenSigner, service_clients
from services.console.oidc import STATE_COOKIE, identity_provider, state_key
from services.console.settings import ConsoleSettings
from services.console.translations import page_environments
from shared.service import ServiceDefinition, create_service_app

STATIC_DIR = Path(__file__).parent / "static"

# No subscriptions: the console consumes nothing; the runtime relays its outbox (account events), and a
# job erases each link event from the outbox once it is published.
DEFINITION = ServiceDefinition(
    name="console",
    title="Vidnova console",
    routers=[
        *(sign_in.router, oidc.router, account.router, inbox.router, admin.router),
        *(requests.router, request_detail.router, subscriptions.router),
        *(approvals.router, lots.router, allocations.router, donors.router, reports.router),
    ],
)


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    """Build the console from settings (the environment by default)."""
    settings = settings or ConsoleSettings()
    app = create_service_app(DEFINITION, settings)
    service_lifespan = app.router.lifespan_context
    signer = TokenSigner(secret=settings.auth.signing_secret, ttl_s=settings.service_token_ttl_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.upstream_timeout_s)
        # Idle connections are dropped well before the services close them (vidnova.serve: 75 s), so a
        # reused connection is never one the server is closing at that moment.
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=30)
        async with service_lifespan(app), httpx.AsyncClient(timeout=timeout, limits=limits) as http:
            app.state.clients = service_clients(
                http=http,
                signer=signer,
                requests_url=settings.requests_url,
                allocation_url=settings.allocation_url,
                notifications_url=settings.notifications_url,
            )
            yield

    app.router.lifespan_context = lifespan
    # httpx logs every URL at INFO, and the stream's URL carries its (single-use) ticket.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app.state.pages = page_environments()
    app.state.identity_provider = identity_provider(settings)
    if app.state.identity_provider is not None:
        # Holds only the OIDC state and PKCE verifier between the redirect and the callback.
        app.add_middleware(
            SessionMiddleware,
            secret_key=state_key(settings),
            session_cookie=STATE_COOKIE,
            max_age=600,
            same_site="lax",
            https_only=settings.secure_cookies,
        )
    for exception, handler in ERROR_HANDLERS.items():
        app.add_exception_handler(exception, handler)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
