"""A region admin's request pages (SPEC §13): filing in both languages and on a phone, errors beside their
fields, one request per form however often it is sent, search by ref, cancel, the 403 page for another
region, confirming a delivery, and the detail page following an allocation live."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.console import Console, assert_accessible, open_in_english, sign_in
from tests.browser.request_form import ENGLISH, REF, UKRAINIAN, fill_generator_form
from tests.factories import lot_body, request_body
from tests.support.polling import eventually

PASSWORD = "brisk-otter-4217"


@pytest.fixture
def console(full_console: Console) -> Console:
    """The request pages need every service (the inbox tests keep their smaller stack)."""
    return full_console


async def region_admin(page: Page, console: Console, *, english: bool = True) -> None:
    """A new Kharkiv region admin, signed in (the page in English unless asked otherwise)."""
    email = f"kharkiv-{uuid.uuid4().hex[:8]}@example.org"
    await console.create_account(email, role="region_admin", region="UA-63")
    await open_in_english(page)
    await sign_in(page, email, PASSWORD)
    if not english:
        await page.get_by_role("button", name="Українська").click()
        await expect(page.locator("html")).to_have_attribute("lang", "uk")


async def requests_with(console: Console, text: str) -> list[dict[str, Any]]:
    async with console.stack.client("requests", "coordinator") as client:
        response = await client.get("/v1/requests", params={"q": text})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def file_through_the_form(page: Page, labels: dict[str, str], settlement: str) -> None:
    await page.goto("/requests/new")
    await assert_accessible(page)
    await fill_generator_form(page, labels, settlement=settlement)
    await page.get_by_role("button", name=labels["submit"]).click()
    await expect(page.locator("h1")).to_contain_text(REF)


async def test_a_region_admin_files_a_generator_request_in_english(page: Page, console: Console) -> None:
    settlement = f"Харків {uuid.uuid4().hex[:6]}"
    await region_admin(page, console)
    await expect(page.get_by_role("heading", name="Deliveries to confirm")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_role("link", name="Requests").first.click()
    await page.get_by_role("link", name="New request").click()
    await expect(page.get_by_label("Region")).to_have_value("UA-63")
    await file_through_the_form(page, ENGLISH, settlement)

    await expect(page.get_by_text("Submitted").first).to_be_visible()
    await expect(page.get_by_text("Rated power: ≥ 250 kW")).to_be_visible()
    await assert_accessible(page)
    [filed] = await requests_with(console, settlement)
    assert (filed["specs"], filed["quantity"], filed["priority"]) == (
        {"power_kw": 250, "fuel": ["diesel"]},
        2,
        "critical",
    )
    await page.goto("/requests")
    await expect(page.get_by_role("link", name=filed["ref"])).to_be_visible()
    await assert_accessible(page)


async def test_a_region_admin_files_a_request_in_ukrainian(page: Page, console: Console) -> None:
    settlement = f"Ізюм {uuid.uuid4().hex[:6]}"
    await region_admin(page, console, english=False)
    await file_through_the_form(page, UKRAINIAN, settlement)

    await expect(page.get_by_text("Номінальна потужність: ≥ 250 kW; Паливо: Дизель")).to_be_visible()
    await expect(page.get_by_role("heading", name=re.compile("Заявка UA63"))).to_be_visible()
    await assert_accessible(page)
    assert len(await requests_with(console, settlement)) == 1


async def test_filing_works_on_a_360_px_phone(browser: Browser, console: Console) -> None:
    context = await browser.new_context(base_url=console.url, viewport={"width": 360, "height": 780})
    page = await context.new_page()
    try:
        settlement = f"Чугуїв {uuid.uuid4().hex[:6]}"
        await region_admin(page, console)
        await file_through_the_form(page, ENGLISH, settlement)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the page scrolls sideways on a phone ({width} px)"
        assert len(await requests_with(console, settlement)) == 1
    finally:
        await context.close()


async def test_an_api_error_shows_beside_its_field_and_keeps_what_was_typed(
    page: Page, console: Console
) -> None:
    settlement = f"Балаклія {uuid.uuid4().hex[:6]}"
    await region_admin(page, console)
    await page.goto("/requests/new")
    await fill_generator_form(
        page, ENGLISH, settlement=settlement, needed_by=date.today() - timedelta(days=1)
    )
    await page.get_by_role("button", name="Submit request").click()

    needed_by = page.get_by_label("Needed by")
    await expect(needed_by).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#needed_by-error")).to_have_text("Enter a date, today or later.")
    await expect(page.get_by_label("Settlement")).to_have_value(settlement)
    await expect(page.get_by_label("Rated power")).to_have_value("250")
    await expect(page.get_by_role("checkbox", name="Diesel")).to_be_checked()
    await expect(page.get_by_label("Contact email")).to_have_value("olena@example.org")
    await assert_accessible(page)
    assert await requests_with(console, settlement) == []

    await needed_by.fill((date.today() + timedelta(days=3)).isoformat())
    await page.get_by_role("button", name="Submit request").click()
    await expect(page.locator("h1")).to_contain_text(REF)
    assert len(await requests_with(console, settlement)) == 1


async def test_a_double_click_on_submit_files_one_request(page: Page, console: Console) -> None:
    settlement = f"Лозова {uuid.uuid4().hex[:6]}"
    await region_admin(page, console)
    await page.goto("/requests/new")
    await fill_generator_form(page, ENGLISH, settlement=settlement)
    await page.get_by_role("button", name="Submit request").dblclick()

    await expect(page.locator("h1")).to_contain_text(REF)
    filed = await eventually(lambda: requests_with(console, settlement), what="the filed request")
    assert len(filed) == 1


async def test_a_request_is_found_by_its_ref(page: Page, console: Console) -> None:
    async with console.stack.client("requests", "kharkiv") as client:
        response = await client.post("/v1/requests", json=request_body(settlement="Вовчанськ"))
    assert response.status_code == 201, response.text
    ref = response.json()["ref"]
    await region_admin(page, console)
    await page.goto("/requests")
    await page.get_by_label("Search").fill(ref.lower())
    await page.get_by_role("button", name="Find").click()

    await expect(page.locator("tbody tr")).to_have_count(1)
    await page.get_by_role("link", name=ref).click()
    await expect(page.get_by_role("heading", name=f"Request {ref}")).to_be_visible()


async def test_a_region_admin_cancels_a_request_with_a_reason(page: Page, console: Console) -> None:
    await region_admin(page, console)
    await file_through_the_form(page, ENGLISH, f"Куп'янськ {uuid.uuid4().hex[:6]}")
    await page.get_by_text("Cancel request…").click()
    await page.get_by_label("Reason").fill("The grid is back.")
    await page.get_by_role("button", name="Cancel request", exact=True).click()

    await expect(page.get_by_role("status")).to_have_text("The request is cancelled.")
    await expect(page.locator("#request-status")).to_have_text("Cancelled")
    await expect(page.get_by_text("Cancel request")).to_have_count(0)
    await assert_accessible(page)


async def test_another_regions_request_gets_the_403_page(page: Page, console: Console) -> None:
    async with console.stack.client("requests", "odesa") as odesa:
        response = await odesa.post("/v1/requests", json=request_body(region="UA-51", settlement="Одеса"))
    assert response.status_code == 201, response.text
    await region_admin(page, console)
    answer = await page.goto(f"/requests/{response.json()['id']}")

    assert answer is not None
    assert answer.status == 403
    await expect(page.get_by_role("heading", name="You may not see this page")).to_be_visible()
    await assert_accessible(page)


async def allocation_for(
    console: Console, *, category: str, lot_specs: dict[str, Any], request_specs: dict[str, Any]
) -> tuple[str, str]:
    """A Kharkiv request served by a JICA lot, its allocation approved: (request id, allocation id)."""
    async with (
        console.stack.client("requests", "kharkiv") as kharkiv,
        console.stack.client("allocation", "jica") as donor,
        console.stack.client("allocation", "coordinator") as coordinator,
    ):
        filed = await kharkiv.post(
            "/v1/requests", json=request_body(category=category, specs=request_specs, quantity=1)
        )
        assert filed.status_code == 201, filed.text
        request_id = filed.json()["id"]
        lot = await donor.post(
            "/v1/lots",
            json=lot_body(category=category, specs=lot_specs, quantity=1, eligible_regions=["UA-63"]),
        )
        assert lot.status_code == 201, lot.text

        async def proposed() -> list[dict[str, Any]]:
            response = await coordinator.get("/v1/allocations", params={"request_id": request_id})
            return [a for a in response.json()["items"] if a["status"] == "proposed"]

        [allocation] = await eventually(proposed, what="a proposal for the request")
        approved = await coordinator.post(f"/v1/allocations/{allocation['id']}/approve")
        assert approved.status_code == 200, approved.text
    return request_id, allocation["id"]


async def dispatch(console: Console, allocation_id: str) -> None:
    async with console.stack.client("allocation", "jica") as donor:
        response = await donor.post(
            f"/v1/allocations/{allocation_id}/dispatch",
            json={
                "waybill": "WB-7731",
                "carrier": "Nova Poshta",
                "eta": (date.today() + timedelta(days=2)).isoformat(),
            },
        )
    assert response.status_code == 200, response.text


async def test_a_region_admin_confirms_a_dispatched_delivery(page: Page, console: Console) -> None:
    request_id, allocation_id = await allocation_for(
        console,
        category="pump",
        lot_specs={"flow_m3h": 400, "head_m": 60, "medium": "sludge"},
        request_specs={"flow_m3h": 300, "medium": "sludge"},
    )
    await dispatch(console, allocation_id)
    await region_admin(page, console)
    await expect(page.get_by_text("WB-7731").first).to_be_visible()  # home: a delivery to confirm
    await page.goto(f"/requests/{request_id}")
    await page.get_by_text("Confirm delivery…").click()
    await page.get_by_label("Received quantity").fill("1")
    await page.get_by_label("Rejected quantity").fill("0")
    await page.get_by_label("Note").fill("Arrived intact.")
    # A live refresh while the form is open (here asked for by hand) neither closes it nor loses the note.
    await page.evaluate("htmx.ajax('GET', location.pathname + '/live', {target: '#request-live'})")
    await expect(page.get_by_label("Note")).to_have_value("Arrived intact.")
    await assert_accessible(page)
    await page.get_by_role("button", name="Confirm delivery", exact=True).click()

    await expect(page.get_by_role("status")).to_have_text("The delivery is confirmed.")
    await expect(page.locator(".allocation-status")).to_have_text("Delivered")
    await expect(page.locator("#request-status")).to_have_text("Fulfilled", timeout=30_000)


async def test_the_request_page_follows_a_dispatch_without_reload(page: Page, console: Console) -> None:
    request_id, allocation_id = await allocation_for(
        console,
        category="boiler",
        lot_specs={"power_kw": 900, "fuel": "gas"},
        request_specs={"power_kw": 800, "fuel": ["gas"]},
    )
    await region_admin(page, console)
    await page.goto(f"/requests/{request_id}")
    await expect(page.locator(".allocation-status")).to_have_text("Approved")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    await dispatch(console, allocation_id)

    await expect(page.locator(".allocation-status")).to_have_text("Dispatched", timeout=30_000)
    await expect(page.locator("dd", has_text="WB-7731")).to_be_visible()
    await expect(page.get_by_text("Confirm delivery…")).to_be_visible()
    await expect(page.locator("#request-status")).to_have_text("In delivery", timeout=30_000)
    assert navigations == []


async def test_without_javascript_show_fields_brings_the_categorys_attributes(
    browser: Browser, console: Console
) -> None:
    context = await browser.new_context(base_url=console.url, java_script_enabled=False)
    page = await context.new_page()
    try:
        await region_admin(page, console)
        await page.goto("/requests/new")
        await expect(page.get_by_label("Rated power")).to_have_count(0)
        await page.get_by_label("Category").select_option("generator")
        await page.get_by_label("Settlement").fill("Зміїв")
        await page.get_by_role("button", name="Show fields").click()

        await expect(page.get_by_label("Rated power")).to_be_visible()
        await expect(page.get_by_label("Settlement")).to_have_value("Зміїв")
    finally:
        await context.close()


async def test_a_person_adds_and_deletes_an_email_subscription(page: Page, console: Console) -> None:
    await region_admin(page, console)
    await page.get_by_role("link", name="Subscriptions").first.click()
    await assert_accessible(page)
    target = f"duty-{uuid.uuid4().hex[:6]}@example.org"
    await page.get_by_label("Channel").select_option("email")
    await page.get_by_label("Address").fill(target)
    await page.get_by_role("button", name="Add subscription").click()

    await expect(page.get_by_role("status")).to_have_text("The subscription is added.")
    await expect(page.get_by_role("cell", name=target, exact=True)).to_be_visible()
    await page.get_by_role("button", name=f"Delete the subscription of {target}").click()
    await expect(page.get_by_role("status")).to_have_text("The subscription is deleted.")
    await expect(page.get_by_role("cell", name=target, exact=True)).to_have_count(0)
