"""While a big lot is matched against a long waitlist, slice by slice, allocation's other calls answer."""

from __future__ import annotations

import asyncio
import re
import signal
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


async def run_rows(db: Database) -> int:
    async with db.engine.connect() as connection:
        return int((await connection.execute(sa.text("SELECT count(*) FROM rematch_runs"))).scalar_one())


async def test_a_big_rematch_killed_between_slices_ends_after_a_restart(infra: Infra) -> None:
    """SIGKILL with slices left; the restarted process matches the rest as one big match would have."""
    waiting, units, slice_size = 600, 500, 5
    stack = await make_stack(
        broker=infra.broker,
        database=infra.database,
        tmp_dir=infra.tmp_dir,
        names=("allocation",),
        REMATCH_SLICE_SIZE=str(slice_size),
        RATE_LIMIT_WRITES_PER_MIN="0",
    )
    db = Database(stack.database_url("allocation"))
    try:
        await waitlist(db, waiting)
        body = lot_body(
            quantity=units, eligible_regions=["UA-63"], location={"region": "UA-63", "site": "depot"}
        )
        async with stack.client("allocation", "jica") as donor:
            registered = await donor.post("/v1/lots", json=body)  # answers once the first slice committed
        assert registered.status_code == 201, registered.text
        stack.signal("allocation", signal.SIGKILL)
        served_at_kill = await proposed(db)
        assert 0 < served_at_kill < units, f"{served_at_kill} matched before the kill: not between slices"
        assert await run_rows(db) == 1  # where the run stood, committed with its last slice
        stack.start("allocation")
        await stack.wait_ready()
        deadline = time.monotonic() + DEADLINE_S
        while (served := await proposed(db)) < units or await run_rows(db):
            assert time.monotonic() < deadline, f"{served} of {units} matched after the restart"
            await asyncio.sleep(0.2)
        async with db.engine.connect() as connection:
            rows = (
                await connection.execute(
                    sa.text(
                        "SELECT d.ref, a.quantity, a.reason FROM demands d JOIN allocations a"
                        " ON a.request_id = d.request_id ORDER BY d.submitted_at"
                    )
                )
            ).all()
    finally:
        await db.dispose()
        stack.stop()
    # One big match: the first ``units`` requests in order of service, one unit each, ranked 1, 2, ...
    assert [ref for ref, _, _ in rows] == [f"UA63-2026-{n:06d}" for n in range(units)]
    assert {quantity for _, quantity, _ in rows} == {1}
    assert [int(re.search(r"Ranked (\d+) ", reason).group(1)) for _, _, reason in rows] == list(  # type: ignore[union-attr]
        range(1, units + 1)
    )
