"""``/reports`` and ``/needs`` in the browser (SPEC §13): a figure, a chart, downloads, "Offer stock"."""

from __future__ import annotations

import csv
import io
import time
import uuid
from pathlib import Path

import openpyxl
from playwright.async_api import Browser, Page, expect

from services.console.stock import CatalogLabels
from tests.browser.console import Console, assert_accessible, open_in_english, sign_in
from tests.browser.stock_setup import PASSWORD, file_request, fresh_donor, fresh_region

EN = CatalogLabels("en")


async def _signed_in(page: Page, console: Console, role: str, **scope: str) -> None:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    await console.create_account(email, role=role, **scope)  # type: ignore[arg-type]
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_role("link", name="Sign out")).to_be_visible()


async def _open_until(page: Page, path: str, selector: str, text: str, *, timeout_s: float = 60) -> None:
    """Open the page again until the projection has the figures (the reports are read models)."""
    deadline = time.monotonic() + timeout_s
    while True:
        await page.goto(path)
        if text in (await page.locator(selector).inner_text()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not in {selector} of {path} within {timeout_s}s")
        await page.wait_for_timeout(300)  # between polls, not a wait for the result


async def test_a_coordinator_reads_unmet_need_with_its_chart_and_downloads_csv_and_excel(
    stock_page: Page, stock_console: Console, tmp_path: Path
) -> None:
    page, region = stock_page, fresh_region()
    await file_request(stock_console, region)  # no lot for it: one unit unmet
    await _signed_in(page, stock_console, "coordinator")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    await expect(page.get_by_role("heading", name="Unmet need")).to_be_visible()
    path = f"/reports?report=unmet-need&region={region}"
    await _open_until(page, path, "#report-table", EN.region(region))
    row = page.locator("#report-table tbody tr").filter(has_text=EN.region(region))
    await expect(row.locator("td").nth(6)).to_have_text("1")  # unmet
    await expect(page.locator("#report-chart li")).to_have_count(1)
    await expect(page.locator("#report-chart")).to_contain_text(EN.region(region))
    await assert_accessible(page)

    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="Download CSV").click()
    download = await downloading.value
    assert download.suggested_filename.startswith("vidnova-unmet-need-")
    assert download.suggested_filename.endswith(".csv")
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert [(r["region"], r["unmet"]) for r in rows] == [(region, "1")]

    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="Download Excel").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    header, *cells = list(openpyxl.load_workbook(saved)["report"].iter_rows(values_only=True))
    assert [(row[header.index("region")], row[header.index("unmet")]) for row in cells] == [(region, 1)]

    await page.get_by_role("link", name="Lead times").click()
    await expect(page.get_by_role("cell", name="Submitted → proposed")).to_be_visible()
    await assert_accessible(page)


async def test_a_donor_offers_stock_for_a_need_and_the_lot_form_is_prefilled(
    browser: Browser, stock_console: Console
) -> None:
    region = fresh_region()
    await file_request(stock_console, region)
    context = await browser.new_context(base_url=stock_console.url, viewport={"width": 360, "height": 740})
    page = await context.new_page()
    try:
        await _signed_in(page, stock_console, "donor", donor_id=fresh_donor())
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Needs").click()
        await expect(page.get_by_role("heading", name="Needs")).to_be_visible()
        await _open_until(page, f"/needs?region={region}", "#needs-board", EN.region(region))
        await assert_accessible(page)
        need = page.locator("#needs-board tbody tr").filter(has_text=EN.region(region))
        await need.get_by_role("button", name="Offer stock").click()
        await expect(page.get_by_role("heading", name="Register lot")).to_be_visible()
        await expect(page.get_by_label("Category")).to_have_value("generator")
        await expect(page.get_by_label("Rated power (kW)")).to_be_visible()  # the category's fields
        selected = await page.get_by_label("Eligible regions").evaluate(
            "select => [...select.selectedOptions].map(option => option.value)"
        )
        assert selected == [region]
        await page.goto("/reports")
        await expect(page.get_by_role("link", name="Lead times")).to_have_count(0)  # not a donor's
        await assert_accessible(page)
    finally:
        await context.close()
