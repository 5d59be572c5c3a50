"""Every report equals a brute-force recomputation from a generated history, whatever the events' order.

Each history is fed to the ``allocation-reports`` handlers through a real database with duplicated
events and in a shuffled order, in transactions of random size; the reports read back must equal the
figures ``report_history`` recomputes in plain Python from the in-order world.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa

from services.allocation.consumers import reports_subscription
from services.allocation.reports import queries
from services.allocation.reports.figures import Filters
from services.allocation.reports.projection import ALLOCATIONS, LOTS, REQUESTS
from shared.db import Database
from shared.events.envelope import CloudEvent
from tests.conftest import Infra
from tests.integration.allocation.report_history import (
    Ask,
    History,
    expected_donor_fulfilment,
    expected_lead_times,
    expected_stock,
    expected_unmet_need,
)
from tests.support.infra import migrated_database

SEEDS = range(10)
HANDLERS = {handler_type: handler for handler_type, handler in reports_subscription().handlers.items()}
NAMES = ("donor_name_en", "donor_name_uk", "programme_name_en", "programme_name_uk")


@pytest.fixture(scope="module")
async def db(infra: Infra) -> AsyncIterator[Database]:
    async with migrated_database(
        infra.database, infra.tmp_dir, "allocation", "reports_projection"
    ) as database:
        yield database


async def _feed(db: Database, events: list[CloudEvent], rng: random.Random) -> None:
    """Each event through its handler, as the consumer would call it, several per transaction."""
    by_type = {event_type.__name__: handler for event_type, handler in HANDLERS.items()}
    position = 0
    while position < len(events):
        run = events[position : position + rng.randint(1, 12)]
        position += len(run)
        async with db.session() as session, session.begin():
            for event in run:
                payload = event.payload()
                await by_type[type(payload).__name__](payload, event=event, session=session)


async def _project(db: Database, history: History, rng: random.Random) -> None:
    async with db.session() as session, session.begin():
        for table in (REQUESTS, ALLOCATIONS, LOTS):
            await session.execute(sa.delete(table))
    events = list(history.events)
    events += rng.sample(events, k=len(events) // 3)  # redelivered
    rng.shuffle(events)
    await _feed(db, events, rng)


def _asks(history: History, rng: random.Random) -> list[Ask]:
    first, last = history.events[0].time.date(), history.events[-1].time.date()
    middle = first + (last - first) / 3
    return [
        Ask(),
        Ask(start=middle, end=middle + timedelta(days=rng.randint(0, 8))),
        Ask(region=rng.choice(("UA-63", "UA-65", "UA-46"))),
        Ask(category="pump", front_line=True),
        Ask(front_line=False, priority=rng.choice(("critical", "high", "medium"))),
        Ask(donor="jica"),
        Ask(donor="undp", programme="undp-energy", end=last - timedelta(days=2)),
    ]


def _filters(ask: Ask) -> Filters:
    values = asdict(ask)
    return Filters(
        start=values["start"],
        end=values["end"],
        region=ask.region,
        category=ask.category,
        donor_id=ask.donor,
        programme_id=ask.programme,
        priority=ask.priority,
        front_line=ask.front_line,
    )


def _same(actual: list[dict[str, Any]], expected: list[dict[str, Any]], what: str) -> None:
    actual = [{k: v for k, v in row.items() if k not in NAMES} for row in actual]
    assert [sorted(row) for row in actual] == [sorted(row) for row in expected], what
    for got, want in zip(actual, expected, strict=True):
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, abs=0.011), f"{what}: {key}"
            else:
                assert got[key] == value, f"{what}: {key} in {got} != {want}"


@pytest.mark.parametrize("seed", SEEDS)
async def test_every_report_equals_its_brute_force_recomputation(db: Database, seed: int) -> None:
    history = History(seed)
    rng = random.Random(1000 + seed)
    await _project(db, history, rng)
    now = history.now + timedelta(hours=rng.choice((1, 20, 50)))
    for ask in _asks(history, rng):
        filters = _filters(ask)

        async def report(name: str, filters: Filters = filters) -> list[dict[str, Any]]:
            async with db.session() as session, session.begin():
                return await queries.report(session=session, name=name, filters=filters, now=now)

        if ask.donor is None and ask.programme is None:
            _same(await report("unmet-need"), expected_unmet_need(history, ask, now), f"unmet-need {ask}")
        _same(await report("donor-fulfilment"), expected_donor_fulfilment(history, ask), f"fulfilment {ask}")
        _same(await report("lead-times"), expected_lead_times(history, ask), f"lead-times {ask}")
        if ask.priority is None:
            _same(await report("stock"), expected_stock(history, ask, now), f"stock {ask}")


def test_the_histories_exercise_every_stage() -> None:
    """The generator is not vacuous: across the seeds every stage and every kind of event occurs."""
    seen: set[str] = set()
    for seed in SEEDS:
        history = History(seed)
        seen |= {event.type for event in history.events}
        seen |= {a.status for a in history.allocations}
    assert {"delivered", "released", "rejected", "expired", "dispatched", "approved", "proposed"} <= seen
    assert {
        "vidnova.inventory.withdrawn.v1",
        "vidnova.inventory.adjusted.v1",
        "vidnova.request.cancelled.v1",
        "vidnova.request.updated.v1",
        "vidnova.request.waitlisted.v1",
    } <= seen


DAY = datetime(2026, 3, 10, tzinfo=UTC)
JUST_BEFORE, LAST_INSTANT, DAY_AFTER = (
    DAY - timedelta(microseconds=1),
    DAY + timedelta(days=1, microseconds=-1),
    DAY + timedelta(days=1),
)


def _allocation_row(quantity: int, **times: datetime) -> dict[str, Any]:
    stages = ("proposed_at", "approved_at", "dispatched_at", "delivered_at")
    return {
        "allocation_id": uuid4(),
        "request_id": uuid4(),
        "lot_id": None,
        "donor_id": "jica",
        "region": "UA-63",
        "category": "pump",
        "quantity": quantity,
        "received_quantity": quantity if "delivered_at" in times else None,
        **{stage: times.get(stage) for stage in stages},
    }


def _request_row(submitted_at: datetime) -> dict[str, Any]:
    return {
        "request_id": uuid4(),
        "region": "UA-63",
        "category": "pump",
        "quantity": 1,
        "submitted_at": submitted_at,
    }


async def test_a_period_keeps_its_first_and_last_instants_and_each_stage_that_fell_in_it(
    db: Database,
) -> None:
    """The period narrows rows in SQL: a day is 00:00 to 23:59:59.999999 UTC, and donor fulfilment keeps an
    allocation whose delivery alone fell in the period, as an old one delivered in it."""
    week = timedelta(days=7)
    async with db.session() as session, session.begin():
        for table in (REQUESTS, ALLOCATIONS, LOTS):
            await session.execute(sa.delete(table))
        submitted = (JUST_BEFORE, DAY, LAST_INSTANT, DAY_AFTER)
        await session.execute(sa.insert(REQUESTS), [_request_row(at) for at in submitted])
        allocations = [
            _allocation_row(
                1,
                proposed_at=DAY - week,
                approved_at=DAY - week,
                dispatched_at=DAY - week,
                delivered_at=LAST_INSTANT,
            ),
            _allocation_row(2, proposed_at=DAY - week, approved_at=DAY),
            _allocation_row(4, proposed_at=LAST_INSTANT),
            _allocation_row(8, proposed_at=JUST_BEFORE - week, delivered_at=JUST_BEFORE),
            _allocation_row(16, proposed_at=DAY_AFTER),
        ]
        await session.execute(sa.insert(ALLOCATIONS), allocations)
    period = Filters(start=DAY.date(), end=DAY.date())
    async with db.session() as session, session.begin():
        need = await queries.report(session=session, name="unmet-need", filters=period, now=DAY_AFTER)
        fulfilment = await queries.report(
            session=session, name="donor-fulfilment", filters=period, now=DAY_AFTER
        )
    assert [row["requests"] for row in need] == [2]
    assert [(r["units_proposed"], r["units_approved"], r["units_delivered"]) for r in fulfilment] == [
        (4, 2, 1)
    ]
