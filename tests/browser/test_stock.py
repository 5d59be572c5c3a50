"""The stock pages (SPEC §13): lots, approvals, allocations, on the whole stack with matching for real."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from playwright.async_api import Browser, Page, expect

from tests.browser.console import Console, assert_accessible, open_in_english, sign_in
from tests.browser.stock_setup import (
    PASSWORD,
    allocations_of,
    approve,
    file_request,
    fresh_donor,
    fresh_region,
    register_lot,
)

TIME_LEFT = re.compile(r"\d+ days? \d+ hours?")
PUMP_UK = "Насос"  # noqa: RUF001 (Cyrillic, as the Ukrainian page names the category)


async def _signed_in(page: Page, console: Console, role: str, **scope: str) -> str:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    await console.create_account(email, role=role, **scope)  # type: ignore[arg-type]
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_role("link", name="Sign out")).to_be_visible()
    return email


async def test_a_donor_registers_a_lot_in_english_changes_its_quantity_and_withdraws_it(
    stock_page: Page, stock_console: Console
) -> None:
    page, donor = stock_page, fresh_donor()
    await _signed_in(page, stock_console, "donor", donor_id=donor)
    await page.goto("/lots")
    await assert_accessible(page)
    await page.get_by_role("link", name="Register lot").click()
    await page.get_by_label("Category").select_option("generator")
    await expect(page.get_by_label("Rated power (kW)")).to_be_visible()
    await page.get_by_label("Rated power (kW)").fill("99999")  # above the catalog's maximum
    await page.get_by_label("Fuel").select_option("diesel")
    await page.get_by_label("Phases").select_option("three")
    await page.get_by_label("Quantity").fill("3")
    await page.get_by_label("Location region").select_option("UA-32")
    await page.get_by_label("Site").fill("Бориспіль, склад 7")
    await page.get_by_label("Eligible regions").select_option(["UA-63", "UA-65"])
    await assert_accessible(page)
    await page.get_by_role("button", name="Register lot").click()

    # The service's error appears next to the field; nothing typed is lost.
    await expect(page.locator("#spec-power_kw-error")).to_be_visible()
    await expect(page.get_by_label("Rated power (kW)")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Site")).to_have_value("Бориспіль, склад 7")
    await expect(page.get_by_label("Quantity")).to_have_value("3")
    await assert_accessible(page)
    await page.get_by_label("Rated power (kW)").fill("250")
    await page.get_by_role("button", name="Register lot").click()

    await expect(page.get_by_role("heading", name=f"Generator · {donor}")).to_be_visible()
    await expect(page.locator("#lot-quantities")).to_contain_text("3")
    await assert_accessible(page)
    await page.get_by_label("Quantity").fill("5")
    await page.get_by_role("button", name="Change quantity").click()
    await expect(page.get_by_label("Quantity")).to_have_value("5")
    await page.get_by_role("button", name="Withdraw").click()
    await expect(page.locator("#lot-status")).to_have_text("Withdrawn")
    await page.goto("/lots")
    await expect(page.get_by_role("row").filter(has_text="Бориспіль, склад 7")).to_contain_text("Withdrawn")


async def test_a_donor_registers_a_lot_in_ukrainian(stock_page: Page, stock_console: Console) -> None:
    page, donor = stock_page, fresh_donor()
    await _signed_in(page, stock_console, "donor", donor_id=donor)
    await page.get_by_role("button", name="Українська").click()
    await page.goto("/lots/new")
    await page.get_by_label("Категорія").select_option("pump")
    await page.get_by_label("Подача (m³/h)").fill("120")
    await page.get_by_label("Напір (m)").fill("40")
    await page.get_by_label("Перекачуване середовище").select_option(index=1)
    await page.get_by_label("Кількість").fill("2")
    await page.get_by_label("Регіон розташування").select_option("UA-46")
    await page.get_by_label("Майданчик").fill("Львів, склад 1")
    await assert_accessible(page)
    await page.get_by_role("button", name="Зареєструвати лот").click()
    await expect(page.get_by_role("heading", name=f"{PUMP_UK} · {donor}")).to_be_visible()
    await expect(page.locator("#lot-status")).to_have_text("Активний")


async def test_the_coordinator_approves_one_proposal_and_rejects_another_which_is_matched_again(
    stock_page: Page, stock_console: Console
) -> None:
    page, region, donor = stock_page, fresh_region(), fresh_donor()
    for _ in range(3):
        await register_lot(stock_console, donor, region)
    first, second = await file_request(stock_console, region), await file_request(stock_console, region)
    await allocations_of(stock_console, first["id"], status="proposed")
    await allocations_of(stock_console, second["id"], status="proposed")
    await _signed_in(page, stock_console, "coordinator")
    await page.goto("/approvals")
    await assert_accessible(page)

    approved_row = page.get_by_role("row").filter(has_text=first["ref"])
    await expect(approved_row).to_contain_text(TIME_LEFT)  # before the proposal expires (72 h)
    await approved_row.get_by_role("button", name="Approve").click()
    await expect(approved_row).to_contain_text("Approved")

    rejected_row = page.get_by_role("row").filter(has_text=second["ref"])
    await rejected_row.get_by_role("button", name="Reject").click()  # no reason: refused, nothing lost
    await expect(rejected_row).to_contain_text("Give a reason to reject.")
    await rejected_row.get_by_label("Reason").fill("The site cannot take a 500 kW unit")
    await rejected_row.get_by_role("button", name="Reject").click()
    await expect(page.locator("#approval-rows tr").filter(has_text="Rejected")).to_have_count(1)

    # The rejected request is matched again, with another lot; the new proposal shows in the queue.
    await allocations_of(stock_console, second["id"], status="proposed")
    await page.goto("/approvals")
    await expect(page.get_by_role("row").filter(has_text=second["ref"])).to_have_count(1)
    await assert_accessible(page)


async def test_the_coordinator_approves_two_selected_proposals_at_once(
    stock_page: Page, stock_console: Console
) -> None:
    page, region, donor = stock_page, fresh_region(), fresh_donor()
    await register_lot(stock_console, donor, region, quantity=2)
    requests = [await file_request(stock_console, region) for _ in range(2)]
    for request in requests:
        await allocations_of(stock_console, request["id"], status="proposed")
    await _signed_in(page, stock_console, "coordinator")
    await page.goto("/approvals")
    for request in requests:
        await page.get_by_role("row").filter(has_text=request["ref"]).get_by_role("checkbox").check()
    await page.get_by_role("button", name="Approve selected").click()
    for request in requests:
        await expect(page.get_by_role("row").filter(has_text=request["ref"])).to_contain_text("Approved")
        await allocations_of(stock_console, request["id"], status="approved")


async def test_the_donor_marks_an_approved_allocation_dispatched_on_a_phone(
    browser: Browser, stock_console: Console
) -> None:
    region, donor = fresh_region(), fresh_donor()
    await register_lot(stock_console, donor, region)
    request = await file_request(stock_console, region)
    (proposal,) = await allocations_of(stock_console, request["id"], status="proposed")
    await approve(stock_console, proposal["id"])
    context = await browser.new_context(base_url=stock_console.url, viewport={"width": 360, "height": 740})
    page = await context.new_page()
    try:
        await _signed_in(page, stock_console, "donor", donor_id=donor)
        await page.goto("/")
        await expect(page.get_by_role("link", name=request["ref"])).to_be_visible()  # to dispatch
        await assert_accessible(page)
        await page.get_by_role("link", name=request["ref"]).click()
        await page.get_by_label("Waybill").fill("WB-2026-0042")
        await page.get_by_label("Carrier").fill("Нова пошта Вантаж")
        await page.get_by_label("ETA").fill((date.today() + timedelta(days=3)).isoformat())
        await page.get_by_label("Serial numbers").fill("CAT-001")
        await assert_accessible(page)
        await page.get_by_role("button", name="Mark dispatched").click()
        await expect(page.locator("#allocation-status")).to_have_text("Dispatched")
        await expect(page.locator("#allocation-waybill")).to_have_text("WB-2026-0042")
        await assert_accessible(page)
        (shipped,) = await allocations_of(stock_console, request["id"], status="dispatched")
        assert shipped["serials"] == ["CAT-001"]
        assert shipped["carrier"] == "Нова пошта Вантаж"
    finally:
        await context.close()


async def test_a_donor_cannot_open_another_donors_lot_or_the_approvals(
    stock_page: Page, stock_console: Console
) -> None:
    page = stock_page
    others = await register_lot(stock_console, fresh_donor(), fresh_region())
    await _signed_in(page, stock_console, "donor", donor_id=fresh_donor())
    for path in (f"/lots/{others['id']}", "/approvals"):
        response = await page.goto(path)
        assert response is not None
        assert response.status == 403
        await expect(page.get_by_role("heading", name="You may not see this page")).to_be_visible()
        await assert_accessible(page)


async def test_a_new_proposal_appears_in_the_open_approvals_page_without_reload(
    stock_page: Page, stock_console: Console
) -> None:
    page, region = stock_page, fresh_region()
    await register_lot(stock_console, fresh_donor(), region)
    await _signed_in(page, stock_console, "coordinator")
    await page.goto("/approvals")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    request = await file_request(stock_console, region)

    await expect(page.get_by_role("row").filter(has_text=request["ref"])).to_have_count(1, timeout=60_000)
    assert navigations == []


async def test_the_queue_and_the_lot_form_work_without_javascript(
    browser: Browser, stock_console: Console
) -> None:
    region, donor = fresh_region(), fresh_donor()
    await register_lot(stock_console, donor, region)
    request = await file_request(stock_console, region)
    await allocations_of(stock_console, request["id"], status="proposed")
    context = await browser.new_context(base_url=stock_console.url, java_script_enabled=False)
    page = await context.new_page()
    try:
        await _signed_in(page, stock_console, "coordinator")
        await page.goto("/approvals")
        await (
            page.get_by_role("row")
            .filter(has_text=request["ref"])
            .get_by_role("button", name="Approve")
            .click()
        )
        await expect(page.get_by_role("status")).to_contain_text("Approved: 1.")
        await allocations_of(stock_console, request["id"], status="approved")

        await page.goto("/lots/new")
        await page.get_by_label("Category").select_option("boiler")
        await page.get_by_role("button", name="Show attributes").click()
        await expect(page.get_by_label("Category")).to_have_value("boiler")
        await page.get_by_label("Heat output (kW)").fill("800")
        await page.get_by_label("Fuel").select_option(index=1)
        await page.get_by_label("Donor").fill(donor)
        await page.get_by_label("Location region").select_option(region)
        await page.get_by_label("Site").fill("Склад без JavaScript")
        await page.get_by_role("button", name="Register lot").click()
        await expect(page.get_by_role("heading", name=f"Boiler · {donor}")).to_be_visible()
    finally:
        await context.close()
