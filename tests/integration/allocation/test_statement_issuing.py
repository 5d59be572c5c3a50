"""Issuing donors' monthly statements in-process on the real database, with an injected clock.

The reports' projection rows are written directly (as the ``allocation-reports`` group would have), so
the month can be any past month; the job and the issuing function run as the service runs them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import col, select

from services.allocation.models import Donor
from services.allocation.reports.issuing import issue_statements, statement_job
from services.allocation.reports.models import DonorStatement, ReportAllocation, ReportLot, ReportRequest
from services.allocation.settings import StatementSettings
from shared.db import Database
from shared.outbox import OutboxRecord
from tests.conftest import Infra
from tests.support.infra import migrated_database

NOVEMBER = datetime(2026, 11, 20, 10, tzinfo=UTC)
FIRST_OF_DECEMBER = datetime(2026, 12, 1, tzinfo=UTC)
SETTINGS = StatementSettings(interval_s=3600, delay_s=3600)


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[Database]:
    async with migrated_database(infra.database, infra.tmp_dir, "allocation", "alloc_statements") as database:
        yield database


async def add_donor(db: Database, donor_id: str) -> None:
    async with db.session() as session, session.begin():
        session.add(
            Donor(
                id=donor_id, name_en=f"Donor {donor_id}", name_uk=f"Донор {donor_id}", kind="agency",
                country="JP", contact_emails=[], created_by="test",
            )
        )  # fmt: skip


async def add_delivery(db: Database, donor_id: str, *, at: datetime, units: int = 2) -> str:
    """A lot of the donor's and one allocation of it delivered at ``at``; returns the request's ref."""
    lot_id, request_id = uuid.uuid4(), uuid.uuid4()
    ref = f"UA63-2026-{uuid.uuid4().int % 10**6:06d}"
    async with db.session() as session, session.begin():
        session.add(
            ReportLot(
                lot_id=lot_id, donor_id=donor_id, category="generator", region="UA-30", quantity=units,
                unit_value=Decimal("1000"), currency="EUR", registered_at=at - timedelta(days=9),
            )
        )  # fmt: skip
        session.add(ReportRequest(request_id=request_id, ref=ref, region="UA-63", category="generator"))
        session.add(
            ReportAllocation(
                allocation_id=uuid.uuid4(), request_id=request_id, lot_id=lot_id, donor_id=donor_id,
                region="UA-63", category="generator", settlement="Kharkiv", facility_name="Boiler House",
                quantity=units, proposed_at=at - timedelta(days=3), approved_at=at - timedelta(days=2),
                dispatched_at=at - timedelta(days=1), delivered_at=at, received_quantity=units,
                rejected_quantity=0,
            )
        )  # fmt: skip
    return ref


async def statements(db: Database) -> list[tuple[str, str]]:
    async with db.session() as session:
        rows = await session.exec(select(DonorStatement).order_by(col(DonorStatement.donor_id)))
        return [(row.donor_id, row.month) for row in rows.all()]


async def issued_events(db: Database) -> list[dict[str, Any]]:
    async with db.session() as session:
        rows = await session.exec(
            select(OutboxRecord)
            .where(col(OutboxRecord.event_type).contains("statement_issued"))
            .order_by(col(OutboxRecord.id))
        )
        return [{"key": row.key, **json.loads(row.payload)["data"]} for row in rows.all()]


async def run_job_once(db: Database, now: datetime) -> None:
    """One pass of the statement job at ``now``: the clock's first reading also asks the job to stop."""
    runtime = SimpleNamespace(db=db, stopping=asyncio.Event())

    def clock() -> datetime:
        runtime.stopping.set()
        return now

    job: Callable[[Any], Any] = statement_job(SETTINGS, clock=clock)
    await asyncio.wait_for(job(runtime), timeout=60)


async def test_issuing_twice_issues_each_active_donor_once(db: Database) -> None:
    await add_donor(db, "active")
    await add_donor(db, "idle")
    ref = await add_delivery(db, "active", at=NOVEMBER)
    now = FIRST_OF_DECEMBER + timedelta(hours=2)

    first = await issue_statements(db, month="2026-11", now=now)
    second = await issue_statements(db, month="2026-11", now=now)

    assert (first.issued, first.already_issued) == (["active"], [])
    assert (second.issued, second.already_issued) == ([], ["active"])
    assert await statements(db) == [("active", "2026-11")]  # no row for a donor without activity
    [event] = await issued_events(db)
    assert event["key"] == "active"
    assert event["month"] == "2026-11"
    assert event["totals"]["delivered"] == 2
    [value] = event["totals"]["value_delivered"]
    assert (value["currency"], Decimal(value["amount"])) == ("EUR", Decimal(2000))
    assert event["facilities"][0]["request_refs"] == [ref]


async def test_two_issuers_at_once_issue_once(db: Database) -> None:
    await add_donor(db, "raced")
    await add_delivery(db, "raced", at=NOVEMBER)
    now = FIRST_OF_DECEMBER + timedelta(hours=2)
    results = await asyncio.gather(*(issue_statements(db, month="2026-11", now=now) for _ in range(2)))
    assert sorted(len(result.issued) for result in results) == [0, 1]
    assert len(await issued_events(db)) == 1


async def test_the_job_issues_the_previous_month_only_after_the_delay(db: Database) -> None:
    await add_donor(db, "jica")
    await add_delivery(db, "jica", at=NOVEMBER)
    await add_delivery(db, "jica", at=FIRST_OF_DECEMBER + timedelta(minutes=10))  # December's, not November's

    await run_job_once(db, FIRST_OF_DECEMBER + timedelta(seconds=SETTINGS.delay_s - 1))
    assert await statements(db) == []
    assert await issued_events(db) == []

    await run_job_once(db, FIRST_OF_DECEMBER + timedelta(seconds=SETTINGS.delay_s + 1))
    assert await statements(db) == [("jica", "2026-11")]
    [event] = await issued_events(db)
    assert event["totals"]["delivered"] == 2  # December's delivery is not in November's statement
    assert event["period"] == {"start": "2026-11-01", "end": "2026-11-30"}

    await run_job_once(db, FIRST_OF_DECEMBER + timedelta(days=3))
    assert len(await issued_events(db)) == 1  # checked again, issued once
