"""Browser journeys: Playwright driving Debian's Chromium against a real console and notifications service."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.browser.console import CHROMIUM, Console, start_console, stop_console
from tests.conftest import Infra


def chromium_path() -> str:
    """Debian's Chromium; missing, the browser tests fail where production infrastructure is required."""
    if os.path.exists(CHROMIUM) or shutil.which(CHROMIUM):
        return CHROMIUM
    message = f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium` (make test does it as root)"
    if os.environ.get("VIDNOVA_REQUIRE_PRODUCTION_INFRA"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="session")
async def console(infra: Infra, browser_workdir: Path) -> AsyncIterator[Console]:
    """The console and the notifications service on the suite's broker, e-mailing a real SMTP server."""
    running = await start_console(infra.broker, infra.database, browser_workdir)
    try:
        yield running
    finally:
        await stop_console(running)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    async with async_playwright() as playwright:
        # As root Chromium needs --no-sandbox; the pages it opens are the console's own.
        launched = await playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, console: Console) -> AsyncIterator[Page]:
    """A fresh browser profile (no cookies) on the console, 1280 px wide."""
    context = await browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    yield opened
    await context.close()
