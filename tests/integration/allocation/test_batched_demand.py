"""New requests of one consumer batch are recorded and matched together, each keeping its own cause.

The use case is called as the consumer's batch handler calls it, inside one real transaction; what it
wrote is read back from the tables and the outbox (payload and envelope).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from services.allocation import consumers, demands, inventory
from services.allocation.models import Allocation, Demand
from services.allocation.schemas import LotCreate
from services.allocation.settings import Policy
from shared.auth import Principal
from shared.db import Database
from shared.events.envelope import CloudEvent, new_event
from shared.events.payloads import RequestSubmitted
from shared.outbox import OutboxRecord
from tests.conftest import Infra
from tests.factories import lot_body, request_submitted
from tests.support.infra import migrated_database

POLICY = Policy(proposal_ttl=timedelta(hours=72))
DONOR = Principal(sub="jica", role="donor", donor_id="jica")


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[Database]:
    async with migrated_database(infra.database, infra.tmp_dir, "allocation", "alloc_batch") as database:
        yield database


async def add_lot(db: Database, **overrides: Any) -> None:
    body = LotCreate.model_validate(lot_body(donor_id="jica", **overrides))
    async with db.session() as session, session.begin():
        await inventory.register_lot(session=session, body=body, principal=DONOR, policy=POLICY)


def arrival(**overrides: Any) -> tuple[RequestSubmitted, CloudEvent]:
    payload = request_submitted(**{"quantity": 1, **overrides})
    return payload, new_event(payload, source="requests")


async def handle_together(db: Database, batch: list[tuple[RequestSubmitted, CloudEvent]]) -> None:
    async with db.session() as session, session.begin():
        await demands.record_demands(session, batch, policy=POLICY)


async def outbox(db: Database) -> list[dict[str, Any]]:
    async with db.session() as session:
        rows = await session.exec(select(OutboxRecord).order_by(col(OutboxRecord.id)))
        return [json.loads(row.payload) for row in rows.all()]


async def test_each_new_request_of_a_batch_is_recorded_once_and_proposed_under_its_own_cause(
    db: Database,
) -> None:
    await add_lot(db, quantity=5)  # a generator lot for Kharkiv requests of 250 kW
    first, second = arrival(ref="UA63-2026-000001"), arrival(ref="UA63-2026-000002")
    pump = arrival(ref="UA63-2026-000003", category="pump", specs={"flow_m3h": 50})
    again = (first[0], new_event(first[0], source="requests"))  # the same request under another event id
    await handle_together(db, [first, pump, second, again])

    async with db.session() as session:
        recorded = (await session.exec(select(Demand.request_id))).all()
        proposed = (await session.exec(select(Allocation.request_id, Allocation.quantity))).all()
    assert sorted(recorded) == sorted(p.request_id for p, _ in (first, second, pump))
    assert sorted(proposed) == sorted([(first[0].request_id, 1), (second[0].request_id, 1)])

    caused = {
        (e["data"]["request_id"], e["causationid"])
        for e in await outbox(db)
        if e["type"].endswith(("allocation.proposed.v1", "request.waitlisted.v1"))
    }
    assert caused == {
        (str(first[0].request_id), str(first[1].id)),
        (str(second[0].request_id), str(second[1].id)),
        (str(pump[0].request_id), str(pump[1].id)),  # no pump in stock: waitlisted, under its own cause
    }


async def test_scarce_stock_goes_to_the_batch_request_first_in_the_order_of_service(db: Database) -> None:
    await add_lot(db, quantity=1)
    low, critical = arrival(priority="low"), arrival(priority="critical")
    await handle_together(db, [low, critical])  # the low-priority request arrived first
    async with db.session() as session:
        proposed = (await session.exec(select(Allocation.request_id))).all()
        waiting = (
            await session.exec(select(Demand.request_id).where(col(Demand.waitlisted_reported) == 1))
        ).all()
    assert proposed == [critical[0].request_id]
    assert waiting == [low[0].request_id]


def test_the_allocation_group_handles_consecutive_submissions_together() -> None:
    subscription = consumers.subscription(POLICY)
    assert set(subscription.batch_handlers) == {RequestSubmitted}
    assert RequestSubmitted in subscription.handlers  # a retried or lone event still has its own handler


async def test_a_batch_with_nothing_new_writes_nothing(db: Database) -> None:
    known = arrival()
    await handle_together(db, [known])
    before = await outbox(db)
    await handle_together(db, [(known[0], new_event(known[0], source="requests"))])
    assert await outbox(db) == before
    assert uuid.UUID(before[0]["data"]["request_id"]) == known[0].request_id
