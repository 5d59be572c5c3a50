"""The donor registry's pages for `make screenshots`: the list with "Register donor" (and a refused field),
a donor with its programmes and "Add programme", in both languages at 1280 and 360 px."""

from __future__ import annotations

from pathlib import Path

import pyotp
from playwright.async_api import Browser, Page, expect

from tests.browser.console import Console
from vidnova.seed import Scenario

ADMIN, PASSWORD = "oksana.bondar@vidnova.example", "brisk-otter-4217"
TOTP_SECRET = pyotp.random_base32()
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
SIGN_IN = {"uk": ("Електронна пошта", "Пароль", "Увійти"), "en": ("Email", "Password", "Sign in")}


async def register_demo_donors(console: Console) -> None:
    """The demo scenario's donors and programmes (JICA's, UNDP's, a company), registered by an admin."""
    scenario = Scenario.load()
    async with console.stack.client("allocation", "admin") as admin:
        for donor in scenario.donors:
            response = await admin.post("/v1/donors", json=scenario.donor_body(donor))
            assert response.status_code == 201, response.text
        for programme in scenario.programme_bodies():
            response = await admin.post("/v1/programmes", json=programme)
            assert response.status_code == 201, response.text


async def _admin_page(browser: Browser, console: Console, locale: str, viewport: str) -> Page:
    context = await browser.new_context(
        base_url=console.url,
        viewport=VIEWPORTS[viewport],  # type: ignore[arg-type]
        locale="uk-UA" if locale == "uk" else "en-GB",  # the browser's own date fields follow it
    )
    await context.add_cookies([{"name": "vidnova_locale", "value": locale, "url": console.url}])
    page = await context.new_page()
    await page.goto("/sign-in")
    label_email, label_password, button = SIGN_IN[locale]
    await page.get_by_label(label_email).fill(ADMIN)
    await page.get_by_label(label_password).fill(PASSWORD)
    await page.get_by_role("button", name=button).click()
    await page.locator("#code").fill(pyotp.TOTP(TOTP_SECRET).now())
    await page.locator("form[action='/sign-in/totp'] button[type=submit]").click()
    await expect(page.locator("a[href='/sign-out']")).to_be_visible()
    return page


async def shoot_registry_pages(browser: Browser, console: Console, out: Path) -> list[Path]:
    """The registry's pages as an admin sees them; the donors must be registered already."""
    await console.create_account(
        ADMIN, role="admin", name="Оксана Бондар", password=PASSWORD, totp_secret=TOTP_SECRET
    )
    written: list[Path] = []
    for locale in ("uk", "en"):
        for viewport in VIEWPORTS:
            page = await _admin_page(browser, console, locale, viewport)
            for name, path in (("donors", "/donors"), ("donor", "/donors/undp")):
                await page.goto(path)
                written.append(out / f"{name}-{locale}-{viewport}.png")
                await page.screenshot(path=written[-1], full_page=True)
            await page.goto("/donors")
            register = page.locator("form[action='/donors']")
            await register.locator("#donor-id").fill("Caritas Ukraine")  # not an id: refused beside the field
            await register.locator("#donor-name_en").fill("Caritas Ukraine")
            await register.locator("#donor-name_uk").fill("Карітас України")
            await register.locator("#donor-kind").select_option("ngo")
            await register.locator("#donor-country").select_option("UA")
            await register.locator("#donor-id").evaluate("field => field.form.noValidate = true")
            await register.locator("button[type=submit]").click()
            await expect(page.locator("#donor-id-error")).to_be_visible()
            written.append(out / f"donor-register-error-{locale}-{viewport}.png")
            await page.screenshot(path=written[-1], full_page=True)
            await page.context.close()
    return written
