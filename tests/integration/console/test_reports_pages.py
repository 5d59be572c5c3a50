"""``/reports`` and ``/needs`` on the real stack: figures on the page, CSV/XLSX through the console, scope.

Requests are filed in two regions with no stock for them, so they stay unmet and waitlisted; the
allocation service's reports projection picks them up and the pages poll until it has.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from fastapi.testclient import TestClient

from services.console import accounts
from services.console.app import create_app
from services.console.settings import ConsoleSettings
from services.console.stock import CatalogLabels
from shared.db import Database
from shared.migrations import upgrade
from shared.settings import ALL_SERVICE_NAMES
from tests.browser.console import Console, start_console, stop_console
from tests.browser.stock_setup import PASSWORD, file_request
from tests.conftest import Infra
from tests.support.polling import eventually

HERE, THERE = "UA-32", "UA-74"  # Kyiv oblast and Chernihiv oblast: a request in each
EN = CatalogLabels("en")
FILED: list[dict[str, Any]] = []


@pytest.fixture(scope="module")
async def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Console]:
    running = await start_console(
        infra.broker, infra.database, tmp_path_factory.mktemp("reports"), names=ALL_SERVICE_NAMES
    )
    try:
        FILED.extend([await file_request(running, HERE), await file_request(running, THERE)])
        yield running
    finally:
        await stop_console(running)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


@asynccontextmanager
async def _signed_in(stack: Console, role: str, **scope: str) -> AsyncIterator[httpx.AsyncClient]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    await stack.create_account(email, role=role, **scope)  # type: ignore[arg-type]
    cookies = {"vidnova_locale": "en"}
    async with httpx.AsyncClient(
        base_url=stack.url, cookies=cookies, timeout=30, follow_redirects=True
    ) as client:
        page = await client.get("/sign-in")
        signed_in = await client.post(
            "/sign-in", data={"csrf_token": _csrf(page.text), "email": email, "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        yield client


async def _page_showing(client: httpx.AsyncClient, path: str, text: str) -> str:
    """The page once the projection has the figures (the request's region shows in the table)."""

    async def probe() -> str:
        response = await client.get(path)
        assert response.status_code == 200, response.text
        return response.text

    return await eventually(probe, until=lambda html: text in html, timeout_s=60, interval_s=0.3, what=text)


async def test_a_coordinator_sees_unmet_need_and_downloads_it_as_csv_and_excel(stack: Console) -> None:
    async with _signed_in(stack, "coordinator") as client:
        html = await _page_showing(client, "/reports?report=unmet-need", EN.region(THERE))
        assert EN.region(HERE) in html
        assert 'id="report-chart"' in html  # the bars: one per region with units unmet
        assert "Download CSV" in html
        assert "Download Excel" in html
        reversed_period = await client.get("/reports?report=stock&from=2026-12-02&to=2026-11-01")
        assert reversed_period.status_code == 422
        assert "the period must not end before it starts" in reversed_period.text

        answer = await client.get("/reports/unmet-need/export", params={"format": "csv", "region": HERE})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert re.fullmatch(
            r'attachment; filename="vidnova-unmet-need-\d{4}-\d{2}-\d{2}\.csv"',
            answer.headers["content-disposition"],
        )
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert [(r["region"], r["category"], r["unmet"]) for r in rows] == [(HERE, "generator", "1")]

        answer = await client.get("/reports/unmet-need/export", params={"format": "xlsx"})
        assert answer.status_code == 200
        assert answer.headers["content-disposition"].endswith('.xlsx"')
        sheet = openpyxl.load_workbook(io.BytesIO(answer.content))["report"]
        header, *cells = list(sheet.iter_rows(values_only=True))
        unmet = {(row[header.index("region")], row[header.index("unmet")]) for row in cells}
        assert unmet == {(HERE, 1), (THERE, 1)}  # integers as numbers, not text


async def test_a_region_admin_sees_only_its_region_even_when_it_asks_for_another(stack: Console) -> None:
    async with _signed_in(stack, "region_admin", region=HERE) as client:
        html = await _page_showing(client, f"/reports?report=unmet-need&region={THERE}", EN.region(HERE))
        table = html[html.index('id="report-table"') :]
        assert EN.region(THERE) not in table
        assert 'id="f-region"' not in html  # the region is the role's, not a filter it chooses
        answer = await client.get("/reports/unmet-need/export", params={"format": "csv", "region": THERE})
        assert answer.status_code == 200
        assert f"vidnova-unmet-need-{HERE}-" in answer.headers["content-disposition"]
        assert {r["region"] for r in csv.DictReader(io.StringIO(answer.text))} == {HERE}
        lead_times = await client.get("/reports?report=lead-times")
        assert lead_times.status_code == 200
        assert "Submitted → proposed" in lead_times.text


async def test_a_donor_reads_the_needs_board_and_offers_stock_into_a_prefilled_lot_form(
    stack: Console,
) -> None:
    async with _signed_in(stack, "donor", donor_id=f"donor-{uuid.uuid4().hex[:6]}") as client:
        html = await _page_showing(client, "/needs", EN.region(HERE))
        assert f"/lots/new?category=generator&amp;region={HERE}" in html
        assert "Offer stock" in html
        board = html[html.index('id="needs-board"') :]
        for request in FILED:  # nothing of a request: no ref, facility, settlement or contact
            for personal in (request["ref"], request["facility"]["name"], request["contact"]["name"]):
                assert personal not in board
        form = await client.get("/lots/new", params={"category": "generator", "region": HERE})
        assert re.search(rf'<option value="{HERE}" selected>', form.text[form.text.index("lot-eligible") :])
        assert re.search(r'<option value="generator" selected>', form.text)
        reports = await client.get("/reports?report=lead-times")  # not a donor's: unmet need instead
        assert "Lead times" not in reports.text
        assert (await client.get("/reports/lead-times/export?format=csv")).status_code == 404


async def _account(url: str) -> None:
    db = Database(url)
    try:
        async with db.session() as session, session.begin():
            new = accounts.NewAccount(
                email="d@example.org", display_name="D", role="donor", donor_id="jica", locale="en"
            )
            await accounts.create_account(session=session, new=new, password=PASSWORD)
    finally:
        await db.dispose()


def test_with_the_allocation_service_down_both_pages_say_so(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/console.db"
    upgrade("console", url)
    asyncio.run(_account(url))
    settings = ConsoleSettings(
        database_url=url,
        allocation_url="http://127.0.0.1:9",  # discard port: nothing answers
        notifications_url="http://127.0.0.1:9",
        upstream_timeout_s=2,
        auth={"secret": "s" * 40, "state_dir": tmp_path},
        kafka={"bootstrap_servers": "127.0.0.1:9"},
    )
    with TestClient(create_app(settings), base_url="http://console.test") as browser:
        page = browser.get("/sign-in")
        data = {"csrf_token": _csrf(page.text), "email": "d@example.org", "password": PASSWORD}
        assert browser.post("/sign-in", data=data).status_code == 200
        for path in ("/reports", "/needs"):
            answer = browser.get(path)
            assert answer.status_code == 503
            assert "The allocation service is unavailable" in answer.text
            assert "You are still signed in." in answer.text
        assert browser.get("/reports/stock/export?format=csv").status_code == 503


async def test_donor_and_programme_filters_offer_the_registry_by_name_and_a_statement_form(
    stack: Console,
) -> None:
    donor_id, programme_id = f"donor-{uuid.uuid4().hex[:6]}", f"prog-{uuid.uuid4().hex[:6]}"
    async with stack.stack.client("allocation", "admin") as api:
        donor = {"id": donor_id, "name_en": "Kyushu Relief", "name_uk": "Кюсю Допомога", "kind": "ngo"}
        assert (await api.post("/v1/donors", json={**donor, "country": "JP"})).status_code == 201
        programme = {
            "id": programme_id,
            "donor_id": donor_id,
            "name_en": "Winter heat",
            "name_uk": "Зимове тепло",
            "period": {"start": "2026-10-01", "end": "2027-03-31"},
            "budget": {"currency": "JPY", "amount": "1000000"},
        }
        assert (await api.post("/v1/programmes", json=programme)).status_code == 201
    async with _signed_in(stack, "coordinator") as client:
        html = (await client.get("/reports", params={"report": "donor-fulfilment", "donor": donor_id})).text
        donor_select = html[html.index('id="f-donor"') : html.index("</select>", html.index('id="f-donor"'))]
        assert f'<option value="{donor_id}" selected>Kyushu Relief</option>' in donor_select
        assert f'<option value="{programme_id}">Winter heat</option>' in html
        statement = html[html.index('id="statement-heading"') :]
        assert 'action="/reports/statement"' in statement
        assert f'<option value="{donor_id}" selected>Kyushu Relief</option>' in statement
        bad_month = await client.get("/reports/statement", params={"donor": donor_id, "month": "2026-13"})
        assert bad_month.status_code == 400
    async with _signed_in(stack, "donor", donor_id=donor_id) as client:
        html = (await client.get("/reports", params={"report": "donor-fulfilment"})).text
        assert 'id="f-donor"' not in html  # a donor's figures are their own
        assert f'<option value="{programme_id}">Winter heat</option>' in html
        statement = html[html.index('id="statement-heading"') :]
        assert 'id="s-donor"' not in statement
        assert "(to date)" in statement  # this month is offered, month to date
        unmet = (await client.get("/reports", params={"report": "unmet-need"})).text
        assert 'id="statement-heading"' not in unmet
