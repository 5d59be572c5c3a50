"""`make screenshots`: sign-in, inbox, each role's home, request and stock pages (uk, en; 1280, 360 px)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.async_api import Browser, async_playwright, expect

from shared.events.payloads import AllocationProposed
from shared.settings import ALL_SERVICE_NAMES
from tests.browser.console import CHROMIUM, Console, start_console, stop_console
from tests.browser.stock_screenshots import shoot_stock_pages
from tests.factories import allocation_event, lot_body, request_body, request_submitted, request_waitlisted
from tests.support.infra import BrokerChoice, DatabaseChoice, start_broker, stop_broker
from tests.support.polling import eventually

EMAIL, PASSWORD = "olena.koval@oblrada.example", "brisk-otter-4217"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
REGION_ADMIN = "ivan.petrenko@kharkiv-oda.example"
SIGN_IN_LABELS = {"uk": ("Електронна пошта", "Пароль", "Увійти"), "en": ("Email", "Password", "Sign in")}


async def _fill_inbox(console: Console) -> None:
    await console.create_account(EMAIL, role="coordinator", name="Олена Коваль", password=PASSWORD)
    await console.publish(request_submitted(priority="critical"))
    await console.publish(request_waitlisted())
    await console.publish(allocation_event(AllocationProposed))


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
    await expect(page.locator(".inbox-item").nth(2)).to_be_visible(
        timeout=60_000
    )  # the three, and matching's
    await page.screenshot(path=written[1], full_page=True)
    await context.close()
    return written


async def _fill_requests(console: Console) -> str:
    """A Kharkiv region admin, two requests, and one with a dispatched allocation: that request's id."""
    await console.create_account(
        REGION_ADMIN, role="region_admin", region="UA-63", name="Іван Петренко", password=PASSWORD
    )
    async with (
        console.stack.client("requests", "kharkiv") as kharkiv,
        console.stack.client("allocation", "jica") as donor,
        console.stack.client("allocation", "coordinator") as coordinator,
    ):
        # A pump: the generator demand that _fill_inbox publishes must not take this lot.
        await kharkiv.post("/v1/requests", json=request_body())
        pump = {"category": "pump", "quantity": 1}
        wanted = request_body(**pump, specs={"flow_m3h": 120}, priority="high")
        filed = (await kharkiv.post("/v1/requests", json=wanted)).json()
        lot_specs = {"flow_m3h": 200, "head_m": 50, "medium": "water"}
        lot = await donor.post("/v1/lots", json=lot_body(**pump, specs=lot_specs, eligible_regions=["UA-63"]))
        assert lot.status_code == 201, lot.text

        async def proposed() -> list[dict[str, object]]:
            answer = await coordinator.get("/v1/allocations", params={"request_id": filed["id"]})
            return list(answer.json()["items"])

        [allocation] = await eventually(proposed, timeout_s=60, what="a proposal")
        await coordinator.post(f"/v1/allocations/{allocation['id']}/approve")
        dispatch = {"waybill": "WB-2026-0417", "carrier": "Нова пошта", "eta": filed["needed_by"]}
        await donor.post(f"/v1/allocations/{allocation['id']}/dispatch", json=dispatch)
    return str(filed["id"])


async def _shoot_request_pages(
    browser: Browser, console: Console, out: Path, locale: str, request_id: str
) -> list[Path]:
    """Home, the list, the new-request form (desktop and phone), a request, subscriptions: a region admin."""
    written: list[Path] = []
    for viewport in VIEWPORTS:
        context = await browser.new_context(
            base_url=console.url,
            viewport=VIEWPORTS[viewport],  # type: ignore[arg-type]
            locale="uk-UA" if locale == "uk" else "en-GB",  # the browser's own date field follows it
        )
        await context.add_cookies([{"name": "vidnova_locale", "value": locale, "url": console.url}])
        page = await context.new_page()
        email, password, button = SIGN_IN_LABELS[locale]
        await page.goto("/sign-in")
        await page.get_by_label(email).fill(REGION_ADMIN)
        await page.get_by_label(password).fill(PASSWORD)
        await page.get_by_role("button", name=button).click()
        await page.wait_for_url("**/")
        pages = {"home-region_admin": "/", "requests": "/requests", "request": f"/requests/{request_id}"}
        pages |= {"subscriptions": "/subscriptions"}
        for name, path in (pages if viewport == "desktop" else {"home-region_admin": "/"}).items():
            await page.goto(path)
            written.append(out / f"{name}-{locale}-{viewport}.png")
            await page.screenshot(path=written[-1], full_page=True)
        await page.goto("/requests/new")
        await page.locator("#category").select_option("generator")
        await expect(page.locator("#spec-power_kw")).to_be_visible()
        written.append(out / f"request-new-{locale}-{viewport}.png")
        await page.screenshot(path=written[-1], full_page=True)
        await context.close()
    return written


async def _shoot_front_door_and_requests(
    browser: Browser, broker: BrokerChoice, workdir: Path, out: Path
) -> None:
    console = await start_console(broker, DatabaseChoice("sqlite"), workdir, names=ALL_SERVICE_NAMES)
    try:
        await _fill_inbox(console)
        request_id = await _fill_requests(console)
        for locale in ("uk", "en"):
            for viewport in VIEWPORTS:
                for path in await _shoot(browser, console, out, locale, viewport):
                    print(path)
            for path in await _shoot_request_pages(browser, console, out, locale, request_id):
                print(path)
    finally:
        await stop_console(console)


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vidnova-screenshots-") as tmp:
        workdir = Path(tmp)
        broker = BrokerChoice("embedded", supports_idempotence=False)
        start_broker(broker, workdir)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                await _shoot_front_door_and_requests(browser, broker, workdir, out)
                for path in await shoot_stock_pages(browser, broker, workdir, out):
                    print(path)
                await browser.close()
        finally:
            stop_broker(broker)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
