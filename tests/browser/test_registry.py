"""The donor registry's pages (issue #18): an admin registers a donor and a programme, then a lot of that
programme, and the lot's page names the donor in the page's language."""

from __future__ import annotations

import uuid

import pyotp
from playwright.async_api import Page, expect

from tests.browser.console import Console, assert_accessible, open_in_english, sign_in
from tests.browser.stock_setup import PASSWORD


async def test_an_admin_registers_a_donor_and_a_programme_and_a_lot_shows_the_donors_name(
    stock_page: Page, stock_console: Console
) -> None:
    page, suffix = stock_page, uuid.uuid4().hex[:8]
    donor_id, programme_id = f"undp-{suffix}", f"undp-resilience-{suffix}"
    email, secret = f"admin-{suffix}@example.org", pyotp.random_base32()
    await stock_console.create_account(email, role="admin", totp_secret=secret)
    await open_in_english(page)
    await sign_in(page, email, PASSWORD, totp_secret=secret)

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Donors").click()
    await assert_accessible(page)
    register = page.locator("form[action='/donors']")
    await register.get_by_label("Id", exact=True).fill(donor_id)
    await register.get_by_label("Name in English").fill("UNDP Ukraine")
    await register.get_by_label("Name in Ukrainian").fill("ПРООН в Україні")
    await register.get_by_label("Kind").select_option("agency")
    await register.get_by_label("Country").select_option("UA")
    await register.get_by_label("Contact e-mails").fill("not an address")
    await page.get_by_role("button", name="Register donor").click()
    # The service's refusal appears beside the field; nothing typed is lost.
    await expect(page.locator("#donor-contact_emails-error")).to_be_visible()
    await expect(register.get_by_label("Name in Ukrainian")).to_have_value("ПРООН в Україні")
    await assert_accessible(page)
    await register.get_by_label("Contact e-mails").fill("energy@undp.example")
    await page.get_by_role("button", name="Register donor").click()
    await expect(page.get_by_role("heading", name="UNDP Ukraine", exact=True)).to_be_visible()

    add = page.locator(f"form[action='/donors/{donor_id}/programmes']")
    await add.get_by_label("Id", exact=True).fill(programme_id)
    await add.get_by_label("Name in English").fill("Energy resilience")
    await add.get_by_label("Name in Ukrainian").fill("Енергетична стійкість")
    await add.get_by_label("Period start").fill("2025-01-01")
    await add.get_by_label("Period end").fill("2026-12-31")
    await add.get_by_label("Budget").fill("42500000")
    await add.get_by_label("Currency").select_option("USD")
    await add.get_by_label("Implementing partner").fill("UNOPS")
    await page.get_by_role("button", name="Add programme").click()
    await expect(page.locator(f"#programme-{programme_id}")).to_contain_text("Energy resilience")
    await expect(page.locator(f"#programme-{programme_id}")).to_contain_text("$42,500,000.00")
    await assert_accessible(page)

    await page.goto("/lots/new")
    await page.get_by_label("Donor").fill(donor_id)
    # "change": htmx swaps in this donor's programmes. Wait for that swap (the field names the donor it
    # was drawn for): the full list before it may hold the same name, and a late swap would undo a choice.
    await page.get_by_label("Donor").press("Tab")
    await expect(page.locator(f'#lot-programme-field[data-donor="{donor_id}"]')).to_be_attached()
    await expect(page.locator("#lot-programme optgroup")).to_have_count(1)
    await expect(page.locator("#lot-programme optgroup")).to_have_attribute("label", "UNDP Ukraine")
    await page.get_by_label("Programme").select_option(programme_id)
    await page.get_by_label("Category").select_option("generator")
    await expect(page.get_by_label("Rated power (kW)")).to_be_visible()
    await page.get_by_label("Rated power (kW)").fill("250")
    await page.get_by_label("Fuel").select_option("diesel")
    await page.get_by_label("Phases").select_option("three")
    await page.get_by_label("Quantity").fill("2")
    await page.get_by_label("Location region").select_option("UA-32")
    await page.get_by_label("Site").fill("Бориспіль, склад 9")
    await page.get_by_label("Eligible regions").select_option(["UA-71"])  # no request there: it stays free
    await page.get_by_label("Unit value").fill("18000")
    await page.get_by_label("Currency").select_option("USD")
    await assert_accessible(page)
    await page.get_by_role("button", name="Register lot").click()

    await expect(page.get_by_role("heading", name="Generator · UNDP Ukraine")).to_be_visible()
    await expect(page.locator("#lot-programme")).to_have_text("Energy resilience")
    await expect(page.locator("#lot-donor")).to_have_text("UNDP Ukraine")
    await page.get_by_role("button", name="Українська").click()
    await expect(page.locator("html")).to_have_attribute("lang", "uk")
    await expect(page.locator("#lot-donor")).to_have_text("ПРООН в Україні")
    await expect(page.locator("#lot-programme")).to_have_text("Енергетична стійкість")
    await assert_accessible(page)
