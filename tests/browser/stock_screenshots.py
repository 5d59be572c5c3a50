"""The stock pages for `make screenshots`: approvals, lots, the lot form, an allocation, the donor registry,
reports and needs, in both languages."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from shared.settings import ALL_SERVICE_NAMES
from tests.browser.console import Console, start_console, stop_console
from tests.browser.registry_screenshots import register_demo_donors, shoot_registry_pages
from tests.browser.report_screenshots import fill_needs, shoot_report_pages
from tests.browser.stock_setup import allocations_of, approve, file_request, register_lot
from tests.support.infra import BrokerChoice, DatabaseChoice

COORDINATOR, DONOR, PASSWORD = "taras.melnyk@vidnova.example", "desk@jica.example", "brisk-otter-4217"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
SIGN_IN = {"uk": ("Електронна пошта", "Пароль", "Увійти"), "en": ("Email", "Password", "Sign in")}


async def fill_stock(console: Console) -> str:
    """Two donors' lots, three requests proposed, one of them approved; the approved allocation's id."""
    await console.create_account(COORDINATOR, role="coordinator", name="Taras Melnyk", password=PASSWORD)
    await console.create_account(DONOR, role="donor", donor_id="jica", name="JICA desk", password=PASSWORD)
    await register_lot(console, "jica", "UA-63", quantity=3)
    await register_lot(console, "undp", "UA-65", quantity=2)
    kharkiv = await file_request(console, "UA-63")
    hospital = {"name": "Лікарня №4", "kind": "hospital"}
    others = [
        await file_request(console, "UA-63", priority="high", facility=hospital),
        await file_request(console, "UA-65", priority="medium", settlement="Херсон"),
    ]
    for request in others:
        await allocations_of(console, request["id"], status="proposed")
    (proposal,) = await allocations_of(console, kharkiv["id"], status="proposed")
    await approve(console, proposal["id"])
    return str(proposal["id"])


async def signed_in(
    browser: Browser, console: Console, email: str, locale: str, viewport: dict[str, int]
) -> Page:
    context = await browser.new_context(base_url=console.url, viewport=viewport)  # type: ignore[arg-type]
    await context.add_cookies([{"name": "vidnova_locale", "value": locale, "url": console.url}])
    page = await context.new_page()
    await page.goto("/sign-in")
    label_email, label_password, button = SIGN_IN[locale]
    await page.get_by_label(label_email).fill(email)
    await page.get_by_label(label_password).fill(PASSWORD)
    await page.get_by_role("button", name=button).click()
    await expect(page.locator("a[href='/sign-out']")).to_be_visible()
    return page


async def _shoot_locale(
    browser: Browser, console: Console, out: Path, locale: str, approved: str
) -> list[Path]:
    written: list[Path] = []

    async def shot(page: Page, path: str, name: str) -> None:
        await page.goto(path)
        page_name, _, viewport = name.rpartition("-")
        written.append(out / f"{page_name}-{locale}-{viewport}.png")
        await page.screenshot(path=written[-1], full_page=True)

    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = await signed_in(browser, console, COORDINATOR, locale, viewport)
        await shot(page, "/approvals", f"approvals-{suffix}")
        await shot(page, "/", f"home-coordinator-{suffix}")
        await page.context.close()
    page = await signed_in(browser, console, DONOR, locale, DESKTOP)
    donor_pages = (("/", "home-donor"), ("/lots", "lots"), ("/lots/new?category=generator", "lot-new"))
    for path, name in (*donor_pages, ("/allocations", "allocations")):
        await shot(page, path, f"{name}-desktop")
    await page.context.close()
    page = await signed_in(browser, console, DONOR, locale, PHONE)
    await shot(page, "/", "home-donor-phone")
    await shot(page, f"/allocations/{approved}", "allocation-dispatch-phone")
    await page.context.close()
    return written


async def shoot_stock_pages(browser: Browser, broker: BrokerChoice, workdir: Path, out: Path) -> list[Path]:
    """Every service and the console on this broker, filled with stock, and the stock pages as PNGs."""
    (workdir / "stock").mkdir(exist_ok=True)
    console = await start_console(
        broker, DatabaseChoice("sqlite"), workdir / "stock", names=ALL_SERVICE_NAMES
    )
    try:
        await register_demo_donors(console)  # JICA and UNDP: the stock pages name them
        approved = await fill_stock(console)
        await fill_needs(console)
        written: list[Path] = []
        for locale in ("uk", "en"):
            written += await _shoot_locale(browser, console, out, locale, approved)
            written += await shoot_report_pages(
                browser, console, out, locale, signed_in, coordinator=COORDINATOR, donor=DONOR
            )
        return written + await shoot_registry_pages(browser, console, out)
    finally:
        await stop_console(console)
