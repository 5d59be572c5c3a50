"""The read model on the real database: any arrival order, with redeliveries, ends in the in-order state.

Events go through the service's own handlers inside the transaction that records them as processed,
as the consumer runs them: one transaction per event (``IdempotentConsumer.handle_once``) or
several consecutive events in one transaction (``IdempotentConsumer.handle_batch``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import hypothesis
import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from services.requests.consumers import HANDLERS, subscription
from services.requests.domain import derive_status
from services.requests.models import Request, TimelineEntry
from services.requests.schemas import RequestCreate
from services.requests.service import submit_request
from shared.auth import Principal
from shared.consumer import IdempotentConsumer
from shared.db import Database
from shared.events import payloads as p
from shared.events.envelope import CloudEvent, new_event
from shared.migrations import upgrade
from shared.processed_events import ConsumedEvent
from shared.settings import KafkaSettings
from tests.conftest import Infra
from tests.factories import request_body
from tests.support.api_fuzz import examples_per_operation
from tests.support.infra import new_database_url
from tests.unit.requests.histories import Event, fold, histories, snapshot

KIND: dict[str, type[p.AllocationEvent]] = {
    "proposed": p.AllocationProposed,
    "approved": p.AllocationApproved,
    "rejected": p.AllocationRejected,
    "expired": p.AllocationExpired,
    "released": p.AllocationReleased,
    "dispatched": p.AllocationDispatched,
    "delivered": p.AllocationDelivered,
}
EXTRA: dict[str, dict[str, Any]] = {
    "proposed": {"reason": "fits", "expires_at": datetime(2030, 1, 1, tzinfo=UTC)},
    "approved": {"approved_by": "coord-1"},
    "rejected": {"reason": "no", "rejected_by": "coord-1"},
    "expired": {"proposed_at": datetime(2026, 1, 1, tzinfo=UTC)},
    "released": {"reason": "cancelled"},
    "dispatched": {},
    "delivered": {},
}


@pytest.fixture(scope="module")
def database_url(infra: Infra) -> str:
    async def create() -> str:
        url = await new_database_url(infra.database, infra.tmp_dir, "readmodel")
        await asyncio.to_thread(upgrade, "requests", url)
        return url

    return asyncio.run(create())


def envelope(request: Request, lots: dict[int, uuid.UUID], event: Event, at: datetime) -> CloudEvent:
    """The CloudEvent the allocation service would publish for one history event, stamped at ``at``."""
    if event.unmet is not None:
        payload: p.Payload = p.RequestWaitlisted.model_validate(
            {
                "request_id": request.id,
                "ref": request.ref,
                "region": request.region,
                "category": request.category,
                "priority": request.priority,
                "unmet_quantity": event.unmet,
                "reason": "nothing fits",
            }
        )
    else:
        stage = event.view.stage
        extra = dict(EXTRA[stage])
        if stage == "delivered":
            extra |= {
                "received_quantity": event.view.received,
                "rejected_quantity": event.view.quantity - event.view.received,
            }
        payload = KIND[stage].model_validate(
            {
                "allocation_id": lots[event.allocation],
                "request_id": request.id,
                "request_ref": request.ref,
                "lot_id": uuid.uuid4(),
                "donor_id": "undp",
                "region": request.region,
                "settlement": request.settlement,
                "facility": {"name": request.facility_name, "kind": request.facility_kind},
                "category": request.category,
                "quantity": event.view.quantity,
                **extra,
            }
        )
    return new_event(payload, source="allocation").model_copy(update={"time": at})


async def deliver_all(
    db: Database, requested: int, history: list[Event], order: list[int], *, batch: int = 1
) -> dict[str, Any]:
    """File a request, deliver ``history`` in ``order`` (indices may repeat), ``batch`` per transaction."""
    consumer = IdempotentConsumer(subscription(), db=db, kafka=KafkaSettings(), service="requests")
    async with db.session() as session, session.begin():
        body = RequestCreate.model_validate(request_body(quantity=requested))
        principal = Principal(sub="coord-1", role="coordinator")
        request = await submit_request(session=session, body=body, principal=principal)
    lots = {e.allocation: uuid.uuid4() for e in history}
    start = datetime.now(UTC)
    envelopes = [envelope(request, lots, e, start + timedelta(milliseconds=i)) for i, e in enumerate(history)]
    consumed = []
    for offset, index in enumerate(order):
        event = envelopes[index]
        record = SimpleNamespace(topic="allocations", partition=0, offset=offset)
        payload = event.payload()
        consumed.append(ConsumedEvent(record, event, payload, HANDLERS[type(payload)]))
    for start_at in range(0, len(consumed), batch):
        run = consumed[start_at : start_at + batch]
        if batch == 1:
            await consumer.handle_once(run[0].record, run[0].event, run[0].payload, run[0].handler)
        else:
            await consumer.handle_batch(run)
    async with db.session() as session:
        stored = await session.get(Request, request.id)
        assert stored is not None
        outbox = await session.execute(
            sa.text("SELECT event_type, payload FROM outbox WHERE key = :key ORDER BY id"),
            {"key": str(request.id)},
        )
        timeline = await session.execute(  # typed: SQLite stores UUIDs as text, PostgreSQL natively
            sa.select(TimelineEntry.event_id).where(TimelineEntry.request_id == request.id)
        )
        return {
            "request": stored,
            "outbox": [(row.event_type, CloudEvent.model_validate_json(row.payload)) for row in outbox],
            "timeline": [row.event_id for row in timeline],
            "unique_events": len(set(order)),
        }


def test_any_arrival_order_with_redeliveries_ends_in_the_in_order_state(database_url: str) -> None:
    @hypothesis.settings(max_examples=examples_per_operation(), deadline=None, database=None)
    @hypothesis.given(history=histories(with_snapshots=True), data=st.data())
    def check(history: tuple[int, list[Event]], data: st.DataObject) -> None:
        requested, events = history
        indices = list(range(len(events)))
        redelivered = data.draw(st.lists(st.sampled_from(indices), max_size=5)) if indices else []
        order = data.draw(st.permutations(indices + redelivered))
        batch = data.draw(st.integers(min_value=1, max_value=4), label="events per transaction")
        seen = loop.run_until_complete(deliver_all(db, requested, events, order, batch=batch))

        expected = fold(requested, events)
        request: Request = seen["request"]
        assert (
            request.proposed,
            request.approved,
            request.dispatched,
            request.delivered,
            request.waitlisted,
        ) == (
            expected.proposed,
            expected.approved,
            expected.dispatched,
            expected.delivered,
            expected.waitlisted,
        )
        assert request.status == derive_status(expected)

        changes = [e.data for t, e in seen["outbox"] if t == "vidnova.request.status_changed.v1"]
        chain = ["submitted", *(c["status"] for c in changes)]
        assert [c["previous_status"] for c in changes] == chain[:-1], "status changes do not chain"
        assert all(c["previous_status"] != c["status"] for c in changes), "a change that changed nothing"
        assert chain[-1] == request.status
        fulfilled = [e for t, e in seen["outbox"] if t == "vidnova.request.fulfilled.v1"]
        assert len(fulfilled) == (1 if request.status == "fulfilled" else 0)
        # Every distinct event once, plus request.submitted and (if so) request.fulfilled.
        assert (
            len(seen["timeline"]) == len(set(seen["timeline"])) == seen["unique_events"] + 1 + len(fulfilled)
        )

    # One loop and one engine for every example (the test's own loop is not running: the test is sync).
    loop = asyncio.new_event_loop()
    db = Database(database_url)
    try:
        check()
    finally:
        loop.run_until_complete(db.dispose())
        loop.close()


def test_an_older_waitlist_snapshot_arriving_last_does_not_replace_the_newer(database_url: str) -> None:
    history = [snapshot(5), snapshot(2)]  # 5 units unmet, then (newer) only 2

    async def run() -> dict[str, Any]:
        db = Database(database_url)
        try:
            return await deliver_all(db, 5, history, order=[1, 0])
        finally:
            await db.dispose()

    request: Request = asyncio.run(run())["request"]
    assert (request.waitlisted, request.status) == (2, "waitlisted")
