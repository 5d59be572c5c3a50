"""A donor's monthly statement through the real stack: on demand as JSON and PDF, and issued once.

Each test's donor is registered and gets a delivery through the public APIs (filed, proposed, approved,
dispatched, received); the reports' consumer group projects it, and the tests poll until it shows. For
issuing, the delivery's projected times are moved into the previous month in the allocation database,
so that a completed month has something to account for.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from pypdf import PdfReader

from services.allocation.reports.models import ReportAllocation
from services.allocation.reports.statement import month_period, previous_month
from shared.db import Database
from tests.integration.allocation.desk import Desk, Namespace
from tests.support.polling import eventually

STAGES = ("proposed", "approved", "dispatched", "delivered", "rejected_on_receipt")


@dataclass(frozen=True)
class Delivery:
    ns: Namespace
    donor_id: str
    ref: str
    facility: str


async def deliver(desk: Desk) -> Delivery:
    """A registered donor's two units (1000 USD each) filed, approved, dispatched and received in full."""
    ns = desk.namespace()
    donor_id = f"statement-{uuid.uuid4().hex[:8]}"
    facility = f"Boiler House {uuid.uuid4().hex[:6]}"
    donor = {
        "id": donor_id, "name_en": "Japan International Cooperation Agency", "kind": "government",
        "name_uk": "Японське агентство міжнародного співробітництва", "country": "JP", "contact_emails": [],
    }  # fmt: skip
    async with desk.client("allocation", "admin") as admin:
        assert (await admin.post("/v1/donors", json=donor)).status_code == 201
    await desk.register_lot(ns, donor_id=donor_id, quantity=2, unit_value="1000", currency="USD")
    request = await desk.file_request(ns, quantity=2, facility={"name": facility, "kind": "heating_plant"})
    proposal = await desk.proposal_for(request)
    path = f"/v1/allocations/{proposal['id']}"
    async with desk.coordinator() as coordinator:
        assert (await coordinator.post(f"{path}/approve")).status_code == 200
    async with desk.donor(donor_id) as own:
        assert (await own.post(f"{path}/dispatch", json={"waybill": "WB-7"})).status_code == 200
    async with desk.region_admin(ns.region) as region_admin:
        response = await region_admin.post(f"{path}/deliver", json={"received_quantity": 2})
        assert response.status_code == 200, response.text
    return Delivery(ns, donor_id, request["ref"], facility)


@pytest.fixture(scope="module")
async def delivered(desk: Desk) -> Delivery:
    return await deliver(desk)


def this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


async def statement(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await client.get("/v1/reports/donor-statement", params=params)


async def projected_statement(desk: Desk, delivery: Delivery) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async with desk.donor(delivery.donor_id) as donor:
            response = await statement(donor, month=this_month())
        assert response.status_code == 200, response.text
        return dict(response.json())

    return await eventually(
        read,
        until=lambda s: s["totals"]["delivered"] == 2,
        what="the delivery in the statement",
        timeout_s=60,
    )


def fields_of(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


async def test_statement_totals_equal_donor_fulfilment_for_the_month(desk: Desk, delivered: Delivery) -> None:
    made = await projected_statement(desk, delivered)
    period = month_period(this_month())
    async with desk.coordinator() as coordinator:
        response = await coordinator.get(
            "/v1/reports/donor-fulfilment",
            params={
                "donor": delivered.donor_id,
                "from": period.start.isoformat(),
                "to": made["period"]["end"],
            },
        )
    [row] = response.json()["items"]
    totals = made["totals"]
    assert {stage: totals[stage] for stage in STAGES} == {stage: row[f"units_{stage}"] for stage in STAGES}
    assert totals["facilities_served"] == row["facilities_served"] == 1
    assert totals["median_days_approval_to_delivery"] == row["median_days_approval_to_delivery"]
    [value] = totals["value_delivered"]
    assert (value["currency"], Decimal(value["amount"])) == ("USD", Decimal(row["value_delivered"]))
    assert made["donor_name_uk"] == "Японське агентство міжнародного співробітництва"
    [facility] = made["facilities"]
    assert (facility["facility_name"], facility["request_refs"]) == (delivered.facility, [delivered.ref])
    assert [(line["region"], line["delivered"]) for line in made["lines"]] == [(delivered.ns.region, 2)]


async def test_statement_pdf_carries_the_totals_the_facility_and_the_ref(
    desk: Desk, delivered: Delivery
) -> None:
    await projected_statement(desk, delivered)
    async with desk.coordinator() as coordinator:
        response = await statement(
            coordinator, donor=delivered.donor_id, month=this_month(), format="pdf", lang="en"
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    disposition = f'attachment; filename="statement-{delivered.donor_id}-{this_month()}.pdf"'
    assert response.headers["content-disposition"] == disposition
    pages = PdfReader(io.BytesIO(response.content)).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    for expected in (
        "Units delivered 2",
        "2,000.00 USD",
        "Facilities served 1",
        delivered.facility,
        delivered.ref,
    ):
        assert expected in text


async def test_statement_scope_and_refusals(desk: Desk, delivered: Delivery) -> None:
    month = this_month()
    async with desk.donor("someone-else") as other:
        assert (await statement(other, donor=delivered.donor_id, month=month)).status_code == 403
    async with desk.region_admin(delivered.ns.region) as region_admin:
        assert (await statement(region_admin, donor=delivered.donor_id, month=month)).status_code == 403
    async with desk.coordinator() as coordinator:
        missing = await statement(coordinator, month=month)
        assert (missing.status_code, fields_of(missing)) == (422, ["query.donor"])
        for bad in ("2026-13", "2026-1", "November"):
            response = await statement(coordinator, donor=delivered.donor_id, month=bad)
            assert (response.status_code, fields_of(response)) == (422, ["query.month"]), bad
        future = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m")
        response = await statement(coordinator, donor=delivered.donor_id, month=future)
        assert (response.status_code, fields_of(response)) == (422, ["query.month"])
        assert (await statement(coordinator, donor="no-such-donor", month=month)).status_code == 404


async def backdate_to(desk: Desk, donor_id: str, month: str) -> None:
    """Move the donor's projected stages into ``month`` (its 15th), as if the events had come then."""
    start = month_period(month).start
    at = datetime(start.year, start.month, 15, 12, tzinfo=UTC)
    db = Database(desk.stack.database_url("allocation"))
    try:
        async with db.session() as session, session.begin():
            await session.execute(
                sa.update(ReportAllocation)
                .where(ReportAllocation.donor_id == donor_id)  # type: ignore[arg-type]
                .values(proposed_at=at, approved_at=at, dispatched_at=at, delivered_at=at + timedelta(days=1))
            )
    finally:
        await db.dispose()


async def statements_on_kafka(desk: Desk, donor_id: str, *, settle_s: float = 3.0) -> list[dict[str, Any]]:
    """Every ``donor.statement_issued`` keyed by the donor on the allocations topic, read from its start
    until one has arrived and ``settle_s`` more passed with no other."""
    kafka = desk.stack.kafka_settings()
    reader = AIOKafkaConsumer(
        kafka.topic("allocations"),
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"statement-reader-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
    )
    await reader.start()
    found: list[dict[str, Any]] = []
    deadline, quiet_until = time.monotonic() + 60, None
    try:
        while time.monotonic() < deadline and (quiet_until is None or time.monotonic() < quiet_until):
            for records in (await reader.getmany(timeout_ms=200)).values():
                for record in records:
                    event = json.loads(record.value)
                    if record.key == donor_id.encode() and "statement_issued" in event["type"]:
                        found.append(event)
                        quiet_until = time.monotonic() + settle_s
    finally:
        await reader.stop()
    return found


async def test_issuing_a_month_twice_issues_once_and_publishes_one_event(desk: Desk) -> None:
    delivery = await deliver(desk)
    await projected_statement(desk, delivery)  # the projection has the delivery: now move it back
    month = previous_month(datetime.now(UTC))
    await backdate_to(desk, delivery.donor_id, month)

    async with desk.client("allocation", "admin") as admin:
        first = await admin.post("/v1/reports/donor-statements", json={"month": month})
        second = await admin.post("/v1/reports/donor-statements", json={"month": month})
        not_ended = await admin.post("/v1/reports/donor-statements", json={"month": this_month()})
    assert first.status_code == 200, first.text
    assert delivery.donor_id in first.json()["issued"]
    assert delivery.donor_id not in second.json()["issued"]
    assert delivery.donor_id in second.json()["already_issued"]
    assert (not_ended.status_code, fields_of(not_ended)) == (422, ["body.month"])
    async with desk.coordinator() as coordinator:
        refused = await coordinator.post("/v1/reports/donor-statements", json={"month": month})
    assert refused.status_code == 403

    [event] = await statements_on_kafka(desk, delivery.donor_id)
    assert event["data"]["month"] == month
    assert event["data"]["totals"]["delivered"] == 2
    assert event["data"]["facilities"][0]["request_refs"] == [delivery.ref]
