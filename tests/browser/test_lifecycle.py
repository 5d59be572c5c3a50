"""The whole life of a request in the browser (SPEC §4, §13), each role in its own browser profile.

A donor registers a lot of generators; a region admin files a request for two; the coordinator approves
the proposal in the approvals queue; the donor marks it dispatched with a waybill; the region admin
confirms delivery of both units; the donor's inbox shows the fulfilment notice. In English, in Ukrainian,
and in Ukrainian on a 360-px phone, with axe-core on every page on the way."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.console import Console, assert_accessible, open_in_english, sign_in
from tests.browser.request_form import ENGLISH, REF, UKRAINIAN, fill_generator_form
from tests.browser.stock_setup import PASSWORD, fresh_donor, fresh_region

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


@dataclass(frozen=True)
class Words:
    """What each step's controls and outcomes are called in one language (SPEC §13's English names)."""

    language_button: str | None
    lot: dict[str, str]
    approve: str
    approved: str
    dispatch: dict[str, str]
    dispatched: str
    confirm: dict[str, str]
    confirmed: str
    fulfilled: str
    delivered: str
    fulfilment_title: str
    request_form: dict[str, str]


IN_ENGLISH = Words(
    language_button=None,
    lot={
        "category": "Category",
        "power": "Rated power (kW)",
        "fuel": "Fuel",
        "phases": "Phases",
        "quantity": "Quantity",
        "location": "Location region",
        "site": "Site",
        "eligible": "Eligible regions",
        "submit": "Register lot",
    },
    approve="Approve",
    approved="Approved",
    dispatch={
        "waybill": "Waybill",
        "carrier": "Carrier",
        "eta": "ETA",
        "serials": "Serial numbers",
        "submit": "Mark dispatched",
    },
    dispatched="Dispatched",
    confirm={
        "open": "Confirm delivery…",
        "received": "Received quantity",
        "rejected": "Rejected quantity",
        "submit": "Confirm delivery",
    },
    confirmed="The delivery is confirmed.",
    fulfilled="Fulfilled",
    delivered="Delivered",
    fulfilment_title="Fulfilment notice",
    request_form=ENGLISH,
)
IN_UKRAINIAN = Words(
    language_button="Українська",
    lot={
        "category": "Категорія",
        "power": "Номінальна потужність (kW)",
        "fuel": "Паливо",
        "phases": "Кількість фаз",
        "quantity": "Кількість",
        "location": "Регіон розташування",
        "site": "Майданчик",
        "eligible": "Регіони призначення",
        "submit": "Зареєструвати лот",
    },
    approve="Затвердити",
    approved="Затверджено",
    dispatch={
        "waybill": "Накладна",
        "carrier": "Перевізник",
        "eta": "Очікуване прибуття",
        "serials": "Серійні номери",
        "submit": "Позначити відвантаженим",
    },
    dispatched="Відвантажено",
    confirm={
        "open": "Підтвердити отримання…",
        "received": "Отримано, шт.",
        "rejected": "Відхилено, шт.",
        "submit": "Підтвердити отримання",
    },
    confirmed="Отримання підтверджено.",
    fulfilled="Виконано",
    delivered="Доставлено",
    fulfilment_title="Повідомлення про виконання",
    request_form=UKRAINIAN,
)


async def _person(
    browser: Browser, console: Console, words: Words, viewport: dict[str, int], role: str, **scope: str
) -> tuple[BrowserContext, Page]:
    """A new account of this role, signed in in its own browser profile, in the journey's language."""
    context = await browser.new_context(base_url=console.url, viewport=viewport)  # type: ignore[arg-type]
    page = await context.new_page()
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    await console.create_account(email, role=role, **scope)  # type: ignore[arg-type]
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    if words.language_button:
        await page.get_by_role("button", name=words.language_button).click()
        await expect(page.locator("html")).to_have_attribute("lang", "uk")
    await assert_accessible(page)  # each role's home
    return context, page


async def _register_lot(page: Page, words: Words, region: str) -> None:
    labels = words.lot
    await page.goto("/lots/new")
    await page.get_by_label(labels["category"]).select_option("generator")
    await page.get_by_label(labels["power"]).fill("300")
    await page.get_by_label(labels["fuel"]).select_option("diesel")
    await page.get_by_label(labels["phases"]).select_option("three")
    await page.get_by_label(labels["quantity"], exact=True).fill("2")
    await page.get_by_label(labels["location"]).select_option("UA-32")
    await page.get_by_label(labels["site"]).fill("Бориспіль, склад 7")
    await page.get_by_label(labels["eligible"]).select_option([region])
    await assert_accessible(page)
    await page.get_by_role("button", name=labels["submit"]).click()
    await expect(page.locator("#lot-status")).to_be_visible()
    await assert_accessible(page)


async def _file_request(page: Page, words: Words, settlement: str) -> str:
    labels = words.request_form
    await page.goto("/requests/new")
    await assert_accessible(page)
    await fill_generator_form(page, labels, settlement=settlement)
    await page.get_by_role("button", name=labels["submit"]).click()
    await expect(page.locator("h1")).to_contain_text(REF)
    await assert_accessible(page)
    heading = await page.locator("h1").inner_text()
    match = REF.search(heading)
    assert match is not None, heading
    return match.group(0)


async def _approve(page: Page, words: Words, ref: str) -> None:
    await page.goto("/approvals")
    row = page.get_by_role("row").filter(has_text=ref)
    await expect(row).to_be_visible(timeout=60_000)  # the proposal arrives live if matching is slower
    await assert_accessible(page)
    await row.get_by_role("button", name=words.approve, exact=True).click()
    await expect(row).to_contain_text(words.approved)


async def _mark_dispatched(page: Page, words: Words, ref: str) -> None:
    labels = words.dispatch
    await page.goto("/")
    await expect(page.get_by_role("link", name=ref)).to_be_visible(timeout=30_000)  # to dispatch
    await page.get_by_role("link", name=ref).click()
    await page.get_by_label(labels["waybill"]).fill("WB-2026-1201")
    await page.get_by_label(labels["carrier"]).fill("Нова пошта Вантаж")
    await page.get_by_label(labels["eta"]).fill((date.today() + timedelta(days=3)).isoformat())
    await page.get_by_label(labels["serials"]).fill("GEN-0001, GEN-0002")
    await assert_accessible(page)
    await page.get_by_role("button", name=labels["submit"]).click()
    await expect(page.locator("#allocation-status")).to_have_text(words.dispatched)
    await assert_accessible(page)


async def _confirm_delivery(page: Page, words: Words) -> None:
    """On the request's page, already open: the dispatch arrives live, then both units are confirmed."""
    labels = words.confirm
    await expect(page.locator(".allocation-status")).to_have_text(words.dispatched, timeout=30_000)
    await page.get_by_text(labels["open"]).click()
    await page.get_by_label(labels["received"]).fill("2")
    await page.get_by_label(labels["rejected"]).fill("0")
    await assert_accessible(page)
    await page.get_by_role("button", name=labels["submit"], exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(words.confirmed)
    await expect(page.locator(".allocation-status")).to_have_text(words.delivered)
    await expect(page.locator("#request-status")).to_have_text(words.fulfilled, timeout=30_000)
    await assert_accessible(page)


async def _fulfilment_notice(page: Page, words: Words, ref: str) -> None:
    await page.goto("/inbox")
    notice = page.locator(".inbox-item").filter(has_text=f"{words.fulfilment_title} {ref}")
    await expect(notice).to_have_count(1, timeout=30_000)
    await expect(notice).to_contain_text("WB-2026-1201")
    await assert_accessible(page)


@pytest.mark.parametrize(
    ("words", "viewport"),
    [(IN_ENGLISH, DESKTOP), (IN_UKRAINIAN, DESKTOP), (IN_UKRAINIAN, PHONE)],
    ids=["english", "ukrainian", "ukrainian-phone"],
)
async def test_a_request_goes_from_filing_to_the_donors_fulfilment_notice(
    browser: Browser, full_console: Console, words: Words, viewport: dict[str, int]
) -> None:
    region, donor_id = fresh_region(), fresh_donor()
    people = [
        await _person(browser, full_console, words, viewport, "donor", donor_id=donor_id),
        await _person(browser, full_console, words, viewport, "region_admin", region=region),
        await _person(browser, full_console, words, viewport, "coordinator"),
    ]
    (_, donor), (_, region_admin), (_, coordinator) = people
    try:
        await _register_lot(donor, words, region)
        ref = await _file_request(region_admin, words, settlement=f"Ізюм {uuid.uuid4().hex[:6]}")
        await _approve(coordinator, words, ref)
        await _mark_dispatched(donor, words, ref)
        await _confirm_delivery(region_admin, words)
        await _fulfilment_notice(donor, words, ref)
    finally:
        for context, _ in people:
            await context.close()
