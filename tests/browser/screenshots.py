"""`make screenshots`: sign-in, inbox and each role's home, in both languages, desktop and 360 px, as PNGs."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.async_api import Browser, async_playwright, expect

from shared.events.payloads import AllocationProposed
from tests.browser.console import CHROMIUM, Console, start_console, stop_console
from tests.factories import allocation_event, request_submitted, request_waitlisted
from tests.support.infra import BrokerChoice, DatabaseChoice, start_broker, stop_broker

EMAIL, PASSWORD = "olena.koval@oblrada.example", "brisk-otter-4217"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
# The home page of each role besides the coordinator's inbox: (email, role, name, scope).
ROLE_ACCOUNTS = (
    ("oksana.region@oblrada.example", "region_admin", "Оксана Мельник", {"region": "UA-63"}),
    ("kenji.desk@jica.example", "donor", "Kenji Sato", {"donor_id": "jica"}),
)
SIGN_IN_LABELS = {"uk": ("Електронна пошта", "Пароль", "Увійти"), "en": ("Email", "Password", "Sign in")}


async def _fill_inbox(console: Console) -> None:
    await console.create_account(EMAIL, role="coordinator", name="Олена Коваль", password=PASSWORD)
    await console.publish(request_submitted(priority="critical"))
    await console.publish(request_waitlisted())
    await console.publish(allocation_event(AllocationProposed))
    for email, role, name, scope in ROLE_ACCOUNTS:
        await console.create_account(email, role=role, name=name, password=PASSWORD, **scope)


async def _shoot(browser: Browser, console: Console, out: Path, locale: str, viewport: str) -> list[Path]:
    context = await browser.new_context(base_url=console.url, viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    await context.add_cookies([{"name": "vidnova_locale", "value": locale, "url": console.url}])
    page = await context.new_page()
    written = [out / f"sign-in-{locale}-{viewport}.png", out / f"inbox-{locale}-{viewport}.png"]
    await page.goto("/sign-in")
    await page.screenshot(path=written[0], full_page=True)
    email, password, button = SIGN_IN_LABELS[locale]
    await page.get_by_label(email).fill(EMAIL)
    await page.get_by_label(password).fill(PASSWORD)
    await page.get_by_role("button", name=button).click()
    await page.goto("/inbox")
    await expect(page.locator(".inbox-item")).to_have_count(3, timeout=60_000)
    await page.screenshot(path=written[1], full_page=True)
    await context.close()
    for email, role, _name, _scope in ROLE_ACCOUNTS:
        written.append(
            await _shoot_home(
                browser,
                console,
                out / f"home-{role}-{locale}-{viewport}.png",
                email=email,
                locale=locale,
                viewport=viewport,
            )
        )
    return written


async def _shoot_home(
    browser: Browser, console: Console, path: Path, *, email: str, locale: str, viewport: str
) -> Path:
    context = await browser.new_context(base_url=console.url, viewport=VIEWPORTS[viewport])  # type: ignore[arg-type]
    await context.add_cookies([{"name": "vidnova_locale", "value": locale, "url": console.url}])
    page = await context.new_page()
    await page.goto("/sign-in")
    email_label, password_label, button = SIGN_IN_LABELS[locale]
    await page.get_by_label(email_label).fill(email)
    await page.get_by_label(password_label).fill(PASSWORD)
    await page.get_by_role("button", name=button).click()
    await expect(page).to_have_url(f"{console.url}/")
    await page.screenshot(path=path, full_page=True)
    await context.close()
    return path


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vidnova-screenshots-") as tmp:
        workdir = Path(tmp)
        broker = BrokerChoice("embedded", supports_idempotence=False)
        start_broker(broker, workdir)
        console = await start_console(broker, DatabaseChoice("sqlite"), workdir)
        try:
            await _fill_inbox(console)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                for locale in ("uk", "en"):
                    for viewport in VIEWPORTS:
                        for path in await _shoot(browser, console, out, locale, viewport):
                            print(path)
                await browser.close()
        finally:
            await stop_console(console)
            stop_broker(broker)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
