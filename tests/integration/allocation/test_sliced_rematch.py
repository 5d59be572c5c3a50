"""A big re-match in slices of a few requests ends exactly where one big transaction ends.

The same backlog is built once and copied into two SQLite files; the same change of stock (more
units on a lot, or a cancelled request releasing its proposals) then runs through the real use case
in both: re-matched in one transaction in the first, in slices in the second (the continuation run
to its end). A request submitted while the sliced run is between two slices is matched after it,
as its event would be after the one big transaction. Allocations, reasons included, demand counters
and the events staged must be equal.

The sliced run may also stop after a few slices as a process would (its database closed, a new
``Policy`` with nothing in memory): the next process's ``finish_runs`` reads where the run stands from
the database and still ends exactly where the one big transaction ends.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import hypothesis
import sqlalchemy as sa
from hypothesis import strategies as st

from services.allocation import demands, inventory
from services.allocation.backlog import RematchRuns
from services.allocation.continuation import continue_run, finish_runs, unfinished
from services.allocation.schemas import LotCreate
from services.allocation.settings import Policy
from shared.auth import Principal
from shared.db import Database
from shared.events.envelope import new_event
from shared.events.payloads import RequestCancelled, RequestSubmitted
from shared.migrations import upgrade
from tests.factories import lot_body, request_submitted
from tests.support.api_fuzz import examples_per_operation

ONE_SHOT = Policy(proposal_ttl=timedelta(hours=72))
DONOR = Principal(sub="jica", role="donor", donor_id="jica")
REGIONS = ("UA-63", "UA-32", "UA-46", "UA-12")
POWER = (100, 250, 500)

lots = st.lists(
    st.fixed_dictionaries(
        {
            "power_kw": st.sampled_from(POWER),
            "region": st.sampled_from(REGIONS),
            "eligible": st.none() | st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True),
            "quantity": st.integers(1, 3),
        }
    ),
    min_size=1,
    max_size=4,
)
requests = st.fixed_dictionaries(
    {
        "power_kw": st.sampled_from(POWER),
        "region": st.sampled_from(REGIONS),
        "priority": st.sampled_from(("critical", "high", "medium", "low")),
        "quantity": st.integers(1, 3),
        "needed_in_days": st.integers(1, 3),
    }
)
changes = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(("more stock", "cancel")),
        "which": st.integers(0, 99),
        "units": st.integers(1, 12),
    }
)


def submitted(step: dict[str, Any], number: int) -> RequestSubmitted:
    return request_submitted(
        ref=f"UA63-2026-{number:06d}",
        specs={"power_kw": step["power_kw"]},
        region=step["region"],
        priority=step["priority"],
        quantity=step["quantity"],
        needed_by=date.today() + timedelta(days=step["needed_in_days"]),
    )


async def register(db: Database, step: dict[str, Any]) -> UUID:
    body = lot_body(
        specs={"power_kw": step["power_kw"], "fuel": "diesel", "phases": "three"},
        quantity=step["quantity"],
        location={"region": step["region"], "site": "depot"},
        eligible_regions=step["eligible"],
    )
    async with db.session() as session, session.begin():
        lot, _ = await inventory.register_lot(
            session=session, body=LotCreate.model_validate(body), principal=DONOR, policy=ONE_SHOT
        )
        return lot.id


async def submit(db: Database, payload: RequestSubmitted, policy: Policy) -> None:
    async with db.session() as session, session.begin():
        cause = new_event(payload, source="requests")
        await demands.record_demand(session, payload, policy=policy, cause=cause)


async def change(db: Database, change: dict[str, Any], lot_ids: list[UUID], policy: Policy) -> None:
    """The big change of stock: more units on one lot, or a served request cancelled."""
    async with db.session() as session, session.begin():
        if change["kind"] == "more stock":
            lot = lot_ids[change["which"] % len(lot_ids)]
            quantity = (
                await session.execute(sa.text(f"SELECT quantity FROM lots WHERE id = '{lot.hex}'"))
            ).scalar()
            await inventory.adjust_quantity(
                session=session,
                lot_id=lot,
                quantity=int(quantity or 0) + change["units"],
                principal=DONOR,
                policy=policy,
            )
            return
        served = (
            await session.execute(
                sa.text("SELECT request_id, ref, region FROM demands WHERE proposed > 0 ORDER BY ref")
            )
        ).all()
        if not served:
            return
        request_id, ref, region = served[change["which"] % len(served)]
        payload = RequestCancelled(
            request_id=UUID(str(request_id)),
            ref=ref,
            region=region,
            status="cancelled",
            reason="no longer needed",
            delivered_quantity=0,
            cancelled_by="kharkiv-admin",
        )
        await demands.cancel_demand(
            session, payload, policy=policy, cause=new_event(payload, source="requests")
        )


async def state(db: Database) -> tuple[Any, ...]:
    async with db.session() as session:
        allocations = (
            await session.execute(
                sa.text(
                    "SELECT request_id, lot_id, quantity, status, reason FROM allocations"
                    " ORDER BY request_id, lot_id, status, quantity"
                )
            )
        ).all()
        counters = (
            await session.execute(
                sa.text(
                    "SELECT request_id, proposed, waitlisted_reported, open FROM demands ORDER BY request_id"
                )
            )
        ).all()
        events = (await session.execute(sa.text("SELECT event_type, key FROM outbox"))).all()
    return [tuple(row) for row in allocations], [tuple(row) for row in counters], Counter(map(tuple, events))


def test_a_sliced_rematch_ends_where_one_big_transaction_ends(tmp_path: Path) -> None:
    @hypothesis.settings(max_examples=examples_per_operation(), deadline=None, database=None)
    @hypothesis.given(
        stock=lots,
        backlog=st.lists(requests, min_size=1, max_size=12),
        big_change=changes,
        late=st.none() | requests,
        size=st.integers(1, 4),
        stop_after=st.none() | st.integers(0, 3),
    )
    def check(
        stock: list[dict[str, Any]],
        backlog: list[dict[str, Any]],
        big_change: dict[str, Any],
        late: dict[str, Any] | None,
        size: int,
        stop_after: int | None,
    ) -> None:
        here = Path(tempfile.mkdtemp(dir=tmp_path))  # a fresh directory: no WAL file of another example
        before, one_shot, sliced = (here / name for name in ("before.db", "one-shot.db", "sliced.db"))
        upgrade("allocation", f"sqlite+aiosqlite:///{before}")
        late_request = None if late is None else submitted(late, len(backlog) + 1)

        async def build() -> list[UUID]:
            db = Database(f"sqlite+aiosqlite:///{before}")
            try:
                lot_ids = [await register(db, lot) for lot in stock]
                for number, step in enumerate(backlog, start=1):
                    await submit(db, submitted(step, number), ONE_SHOT)
                return lot_ids
            finally:
                await db.dispose()

        async def in_one_transaction(lot_ids: list[UUID]) -> tuple[Any, ...]:
            db = Database(f"sqlite+aiosqlite:///{one_shot}")
            try:
                await change(db, big_change, lot_ids, ONE_SHOT)
                if late_request is not None:
                    await submit(db, late_request, ONE_SHOT)
                return await state(db)
            finally:
                await db.dispose()

        async def in_slices(lot_ids: list[UUID]) -> tuple[Any, ...]:
            url = f"sqlite+aiosqlite:///{sliced}"
            db = Database(url)
            policy = Policy(proposal_ttl=ONE_SHOT.proposal_ttl, runs=RematchRuns(size))
            try:
                await change(db, big_change, lot_ids, policy)
                categories = await unfinished(db)
                hypothesis.event("sliced" if categories else "one slice or one transaction")
                for category in categories:
                    await continue_run(db, policy, category)  # one slice, then the request
                if late_request is not None:
                    await submit(db, late_request, policy)
                if stop_after is not None:  # the process stops between two slices and a new one starts
                    for _ in range(stop_after):
                        for category in await unfinished(db):
                            await continue_run(db, policy, category)
                    hypothesis.event("stopped mid-run" if await unfinished(db) else "stopped after the run")
                    await db.dispose()
                    db = Database(url)
                    policy = Policy(proposal_ttl=ONE_SHOT.proposal_ttl, runs=RematchRuns(size))
                await finish_runs(db, policy)
                assert await unfinished(db) == []
                return await state(db)
            finally:
                await db.dispose()

        loop = asyncio.new_event_loop()
        try:
            lot_ids = loop.run_until_complete(build())
            assert not before.with_name("before.db-wal").exists()  # the last connection checkpointed it
            shutil.copy(before, one_shot)
            shutil.copy(before, sliced)
            expected = loop.run_until_complete(in_one_transaction(lot_ids))
            actual = loop.run_until_complete(in_slices(lot_ids))
        finally:
            loop.close()
        assert actual == expected

    check()


def test_a_sliced_rematch_stopped_between_slices_resumes_in_the_next_process(tmp_path: Path) -> None:
    """The process stops with slices left and a late request deferred; the next one ends the run."""
    stock = [{"power_kw": 250, "region": "UA-63", "eligible": None, "quantity": 1}]
    priorities = ("critical", "high", "medium", "low")
    backlog = [
        {
            "power_kw": 250,
            "region": REGIONS[n % len(REGIONS)],
            "priority": priorities[n % len(priorities)],
            "quantity": 1 + n % 2,
            "needed_in_days": 1 + n % 3,
        }
        for n in range(24)
    ]
    late = submitted({**backlog[0], "priority": "critical"}, len(backlog) + 1)
    more_stock = {"kind": "more stock", "which": 0, "units": 20}
    before, one_shot, sliced = (tmp_path / name for name in ("before.db", "one-shot.db", "sliced.db"))
    upgrade("allocation", f"sqlite+aiosqlite:///{before}")

    async def build() -> list[UUID]:
        db = Database(f"sqlite+aiosqlite:///{before}")
        try:
            lot_ids = [await register(db, lot) for lot in stock]
            for number, step in enumerate(backlog, start=1):
                await submit(db, submitted(step, number), ONE_SHOT)
            return lot_ids
        finally:
            await db.dispose()

    async def in_one_transaction(lot_ids: list[UUID]) -> tuple[Any, ...]:
        db = Database(f"sqlite+aiosqlite:///{one_shot}")
        try:
            await change(db, more_stock, lot_ids, ONE_SHOT)
            await submit(db, late, ONE_SHOT)
            return await state(db)
        finally:
            await db.dispose()

    async def stopped_and_resumed(lot_ids: list[UUID]) -> tuple[Any, ...]:
        url = f"sqlite+aiosqlite:///{sliced}"
        first = Database(url)
        try:
            policy = Policy(proposal_ttl=ONE_SHOT.proposal_ttl, runs=RematchRuns(3))
            await change(first, more_stock, lot_ids, policy)  # the first slice
            await continue_run(first, policy, "generator")  # the second
            await submit(first, late, policy)  # deferred until the run ends
            assert await unfinished(first) == ["generator"]
        finally:
            await first.dispose()  # the process stops: nothing of the run is left in memory
        second = Database(url)
        try:
            fresh = Policy(proposal_ttl=ONE_SHOT.proposal_ttl, runs=RematchRuns(3))
            assert await finish_runs(second, fresh) > 1  # the slices left, then the late request
            assert await unfinished(second) == []
            return await state(second)
        finally:
            await second.dispose()

    loop = asyncio.new_event_loop()
    try:
        lot_ids = loop.run_until_complete(build())
        shutil.copy(before, one_shot)
        shutil.copy(before, sliced)
        expected = loop.run_until_complete(in_one_transaction(lot_ids))
        actual = loop.run_until_complete(stopped_and_resumed(lot_ids))
    finally:
        loop.close()
    assert actual == expected
    allocations = actual[0]
    assert sum(quantity for _, _, quantity, _, _ in allocations) == 21  # the lot's units, all proposed
