"""OpenID Connect mode (SPEC §12): sign-in at the provider, role and scope from its claims, no passwords."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.console import Console, assert_accessible, start_console, stop_console
from tests.conftest import Infra
from tests.support.oidc_provider import OidcProvider, OidcUser, running_oidc_provider

PERSON = OidcUser(
    sub="idp-7", email="Iryna@Oblrada.example", name="Iryna Bondar", role="region_admin", region="UA-51"
)


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[OidcProvider]:
    async with running_oidc_provider(PERSON) as running:
        yield running


@pytest.fixture(scope="module")
async def oidc_console(
    infra: Infra, provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Console]:
    """Console and notifications in OIDC mode: the services accept the provider's access tokens (JWKS)."""
    workdir: Path = tmp_path_factory.mktemp("oidc")
    running = await start_console(
        infra.broker,
        infra.database,
        workdir,
        CONSOLE_OIDC_ISSUER=provider.issuer,
        CONSOLE_OIDC_CLIENT_ID=provider.client_id,
        CONSOLE_OIDC_CLIENT_SECRET=provider.client_secret,
        VIDNOVA_JWKS_URL=provider.jwks_url,
        VIDNOVA_AUTH_ISSUER=provider.issuer,
        VIDNOVA_AUTH_AUDIENCE=provider.access_token_audience,
    )
    try:
        yield running
    finally:
        await stop_console(running)


async def test_sign_in_through_the_identity_provider_takes_role_and_scope_from_its_claims(
    browser: Browser, oidc_console: Console, provider: OidcProvider
) -> None:
    context = await browser.new_context(base_url=oidc_console.url)
    page = await context.new_page()
    await page.goto("/inbox")
    await expect(page).to_have_url(re.compile(r"/sign-in\?next=/inbox$"))
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_label("Password")).to_have_count(0)  # built-in passwords are off
    await assert_accessible(page)
    await page.get_by_role("button", name="Sign in with your organisation").click()
    await expect(page).to_have_url(re.compile(r"/inbox$"))  # back to the page asked for
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()  # the services took the token
    await expect(page.get_by_text("Iryna Bondar")).to_be_visible()
    await expect(page.get_by_text("Region administrator (UA-51)")).to_be_visible()
    assert provider.token_requests >= 1
    refused = await page.request.post("/sign-in", form={"email": "x@example.org", "password": "p" * 12})
    assert refused.status in (303, 403)  # never signs anyone in with a password in this mode
    await context.close()
