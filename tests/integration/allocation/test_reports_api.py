"""``/v1/reports`` through the real stack: a delivery shows in the figures, exports parse, scope holds.

A request is filed, a lot registered, the proposal approved, dispatched and delivered through the public
APIs; the reports' own consumer group projects the events, and the tests poll until the figures show
them. Each test filters on its namespace's region and category (or its own donor), so other tests'
data on the same stack never enters the figures asserted.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
import openpyxl
import pytest

from services.allocation.reports.export import COLUMNS
from tests.integration.allocation.desk import Desk, Namespace
from tests.support.polling import eventually

PERSONAL = (
    "facility",
    "facility_name",
    "settlement",
    "contact",
    "name",
    "phone",
    "email",
    "ref",
    "created_by",
)


@dataclass(frozen=True)
class Delivered:
    ns: Namespace
    donor_id: str
    request: dict[str, Any]
    lot: dict[str, Any]


async def _report(client: httpx.AsyncClient, name: str, **params: Any) -> httpx.Response:
    return await client.get(f"/v1/reports/{name}", params={k: str(v) for k, v in params.items()})


async def _items(client: httpx.AsyncClient, name: str, **params: Any) -> list[dict[str, Any]]:
    response = await _report(client, name, **params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


@pytest.fixture(scope="module")
async def delivered(desk: Desk) -> Delivered:
    """Two units filed, proposed, approved, dispatched and received in full; one more unit left in the lot."""
    ns = desk.namespace()
    donor_id = f"reports-{uuid.uuid4().hex[:8]}"
    lot = await desk.register_lot(ns, donor_id=donor_id, quantity=3, unit_value="1000", currency="USD")
    request = await desk.file_request(ns, quantity=2)
    proposal = await desk.proposal_for(request)
    assert proposal["quantity"] == 2
    path = f"/v1/allocations/{proposal['id']}"
    async with desk.coordinator() as coordinator:
        assert (await coordinator.post(f"{path}/approve")).status_code == 200
    async with desk.donor(donor_id) as donor:
        assert (await donor.post(f"{path}/dispatch", json={"waybill": "WB-1"})).status_code == 200
    async with desk.region_admin(ns.region) as region_admin:
        response = await region_admin.post(f"{path}/deliver", json={"received_quantity": 2})
        assert response.status_code == 200, response.text
    return Delivered(ns, donor_id, request, lot)


async def test_a_delivery_shows_in_donor_fulfilment(desk: Desk, delivered: Delivered) -> None:
    async with desk.coordinator() as coordinator:
        rows = await eventually(
            lambda: _items(coordinator, "donor-fulfilment", donor=delivered.donor_id),
            until=lambda rows: bool(rows) and rows[0]["units_delivered"] == 2,
            what="the delivery in donor-fulfilment",
            timeout_s=60,
        )
    [row] = rows
    assert set(row) == set(COLUMNS["donor-fulfilment"])
    assert row["donor_id"] == delivered.donor_id
    assert row["currency"] == "USD"
    assert (row["units_proposed"], row["units_approved"], row["units_dispatched"]) == (2, 2, 2)
    assert (row["units_delivered"], row["units_rejected_on_receipt"]) == (2, 0)
    assert (row["value_delivered"], row["value_approved"]) == ("2000", "2000")
    assert row["facilities_served"] == 1
    assert row["median_days_approval_to_delivery"] is not None


async def test_unmet_need_lead_times_and_stock_count_the_delivery(desk: Desk, delivered: Delivered) -> None:
    ns = delivered.ns
    async with desk.region_admin(ns.region) as region_admin:
        [need] = await eventually(
            lambda: _items(region_admin, "unmet-need", category=ns.category),
            until=lambda rows: len(rows) == 1 and rows[0]["delivered"] == 2,
            what="the delivery in unmet-need",
            timeout_s=60,
        )
        assert need | {"oldest_wait_days": None} == {
            "region": ns.region,
            "front_line": need["front_line"],
            "category": ns.category,
            "requests": 1,
            "requested": 2,
            "delivered": 2,
            "in_pipeline": 0,
            "unmet": 0,
            "waitlisted_requests": 0,
            "oldest_submitted_on": None,
            "oldest_wait_days": None,
        }
        stages = {row["stage"]: row for row in await _items(region_admin, "lead-times", category=ns.category)}
    assert all(stages[stage]["count"] == 1 for stage in stages), stages
    assert stages["submit_to_delivery"]["p50_hours"] >= stages["dispatch_to_delivery"]["p50_hours"] >= 0
    async with desk.donor(delivered.donor_id) as donor:
        [stock] = await _items(donor, "stock", category=ns.category)
    assert (stock["region"], stock["lots"], stock["free_units"]) == (ns.region, 1, 1)


async def test_region_admins_read_their_region_only(desk: Desk, delivered: Delivered) -> None:
    ns = delivered.ns
    other = "UA-46" if ns.region != "UA-46" else "UA-63"
    async with desk.region_admin(ns.region) as region_admin:
        for name in COLUMNS:
            refused = await _report(region_admin, name, region=other)
            assert refused.status_code == 403, (name, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            answer = await _report(region_admin, name)
            assert answer.status_code == 200, answer.text
            assert answer.json()["filters"]["region"] == ns.region
            assert {row.get("region", ns.region) for row in answer.json()["items"]} <= {ns.region}


async def test_donors_read_their_own_figures_and_need_without_personal_data(
    desk: Desk, delivered: Delivered
) -> None:
    ns = delivered.ns
    async with desk.donor(delivered.donor_id) as donor:
        rows = await _items(donor, "donor-fulfilment")
        assert {row["donor_id"] for row in rows} == {delivered.donor_id}
        assert (await _report(donor, "donor-fulfilment", donor="jica")).status_code == 403
        assert (await _report(donor, "stock", donor="jica")).status_code == 403
        assert (await _report(donor, "lead-times")).status_code == 403
        need = await _report(donor, "unmet-need", region=ns.region, category=ns.category)
        csv_need = await _report(donor, "unmet-need", format="csv")
        xlsx_need = await _report(donor, "unmet-need", format="xlsx")
    assert need.status_code == csv_need.status_code == xlsx_need.status_code == 200
    [row] = need.json()["items"]
    assert set(row) == set(COLUMNS["unmet-need"])
    assert not set(row) & set(PERSONAL)
    facility = delivered.request["facility"]["name"]
    contact = delivered.request.get("contact") or {"name": "Олена Коваль"}
    for text in (need.text, csv_need.text, _xlsx_text(xlsx_need.content)):
        assert facility not in text
        assert delivered.request["ref"] not in text
        assert all(str(value) not in text for value in contact.values() if value)


def _xlsx_text(content: bytes) -> str:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    return "\n".join(str(cell.value) for sheet in workbook for line in sheet.iter_rows() for cell in line)


async def test_csv_has_a_header_row_and_parses(desk: Desk, delivered: Delivered) -> None:
    async with desk.coordinator() as coordinator:
        await eventually(
            lambda: _items(coordinator, "donor-fulfilment", donor=delivered.donor_id),
            until=lambda rows: bool(rows) and rows[0]["units_delivered"] == 2,
            what="the delivery in donor-fulfilment",
            timeout_s=60,
        )
        response = await _report(coordinator, "donor-fulfilment", donor=delivered.donor_id, format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    reader = csv.DictReader(io.StringIO(response.text))
    assert tuple(reader.fieldnames or ()) == COLUMNS["donor-fulfilment"]
    [row] = list(reader)
    assert (row["donor_id"], row["units_delivered"], row["value_delivered"]) == (
        delivered.donor_id,
        "2",
        "2000",
    )


async def test_xlsx_opens_with_typed_cells(desk: Desk, delivered: Delivered) -> None:
    today = date.today()
    async with desk.coordinator() as coordinator:
        await eventually(
            lambda: _items(coordinator, "donor-fulfilment", donor=delivered.donor_id),
            until=lambda rows: bool(rows) and rows[0]["units_delivered"] == 2,
            what="the delivery in donor-fulfilment",
            timeout_s=60,
        )
        params = {
            "donor": delivered.donor_id,
            "from": "2020-01-01",
            "to": today.isoformat(),
            "format": "xlsx",
        }
        response = await _report(coordinator, "donor-fulfilment", **params)
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook["report"]
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0] == COLUMNS["donor-fulfilment"]
    row = dict(zip(lines[0], lines[1], strict=True))
    assert row["units_delivered"] == 2
    assert isinstance(row["units_delivered"], int)
    assert row["value_delivered"] == 2000
    assert isinstance(row["value_delivered"], int | float)
    assert isinstance(row["median_days_approval_to_delivery"], int | float)  # a number cell, not text
    about = {key: value for key, value in workbook["about"].iter_rows(values_only=True)}
    assert isinstance(about["generated_at"], datetime)
    assert about["from"] == datetime(2020, 1, 1)  # an Excel date cell (openpyxl reads dates as datetimes)
    date_cells = [c for c in workbook["about"]["B"] if isinstance(c.value, datetime)]
    assert date_cells
    assert all(c.is_date for c in date_cells)


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("unmet-need", {"region": "UA-99"}, "query.region"),
        ("stock", {"category": "spaceship"}, "query.category"),
        ("lead-times", {"from": "2026-12-02", "to": "2026-12-01"}, "query.to"),
        ("lead-times", {"from": "yesterday"}, "query.from"),
        ("stock", {"to": "0.0"}, "query.to"),  # pydantic alone reads a number as a Unix timestamp
        ("unmet-need", {"from": "1733097600"}, "query.from"),
        ("donor-fulfilment", {"format": "pdf"}, "query.format"),
        ("donor-fulfilment", {"front_line": "maybe"}, "query.front_line"),
        ("stock", {"priority": "high"}, "query.priority"),
        ("unmet-need", {"donor": "jica"}, "query.donor"),
        ("stock", {"regoin": "UA-63"}, "query.regoin"),
    ],
)
async def test_bad_filters_are_422_naming_the_field(
    desk: Desk, name: str, params: dict[str, str], field: str
) -> None:
    async with desk.coordinator() as coordinator:
        response = await _report(coordinator, name, **params)
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_no_token_is_401(desk: Desk) -> None:
    async with httpx.AsyncClient(base_url=desk.stack.url("allocation")) as anonymous:
        response = await anonymous.get("/v1/reports/unmet-need")
    assert response.status_code == 401
