"""While a big lot is matched against a long waitlist, slice by slice, allocation's other calls answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.allocation.models import Demand
from shared.db import Database
from tests.conftest import Infra
from tests.factories import lot_body
from tests.support.stack import ServiceStack, make_stack

WAITING = 1500
SLICE = 50
DEADLINE_S = 120.0


@pytest.fixture
async def stack(infra: Infra) -> AsyncIterator[ServiceStack]:
    stack = await make_stack(
        broker=infra.broker,
        database=infra.database,
        tmp_dir=infra.tmp_dir,
        names=("allocation",),
        REMATCH_SLICE_SIZE=str(SLICE),
        RATE_LIMIT_WRITES_PER_MIN="0",
    )
    try:
        yield stack
    finally:
        stack.stop()


async def waitlist(db: Database, count: int) -> None:
    """``count`` one-unit requests from Kharkiv, already reported waiting (as a long backlog would be)."""
    submitted = datetime.now(UTC) - timedelta(days=1)
    async with db.session() as session, session.begin():
        session.add_all(
            Demand(
                request_id=uuid.uuid4(),
                ref=f"UA63-2026-{n:06d}",
                region="UA-63",
                settlement="Харків",
                facility_name="Лікарня",
                facility_kind="hospital",
                category="generator",
                specs={"power_kw": 250},
                quantity=1,
                priority="high",
                needed_by=date.today() + timedelta(days=30),
                submitted_at=submitted + timedelta(microseconds=n),
                waitlisted_reported=1,
            )
            for n in range(count)
        )


async def proposed(db: Database) -> int:
    async with db.engine.connect() as connection:
        return int(
            (
                await connection.execute(sa.text("SELECT count(*) FROM demands WHERE proposed > 0"))
            ).scalar_one()
        )


async def test_lots_are_listed_while_a_big_lot_is_matched_slice_by_slice(stack: ServiceStack) -> None:
    db = Database(stack.database_url("allocation"))
    try:
        await waitlist(db, WAITING)
        body = lot_body(
            quantity=WAITING, eligible_regions=["UA-63"], location={"region": "UA-63", "site": "depot"}
        )
        async with (
            stack.client("allocation", "jica") as donor,
            stack.client("allocation", "coordinator") as reader,
        ):
            registration = asyncio.ensure_future(donor.post("/v1/lots", json=body))
            answered_during = 0  # listings showing the new lot partly proposed: the match was under way
            deadline = time.monotonic() + DEADLINE_S
            while (served := await proposed(db)) < WAITING:
                assert time.monotonic() < deadline, f"only {served} of {WAITING} requests matched in time"
                listing = await reader.get("/v1/lots", params={"limit": 1})
                assert listing.status_code == 200, listing.text
                items = listing.json()["items"]
                if items and 0 < items[0]["quantities"]["proposed"] < WAITING:
                    answered_during += 1
            assert (await registration).status_code == 201
    finally:
        await db.dispose()
    assert answered_during, "no GET /v1/lots answered between the re-match's first and last slice"
