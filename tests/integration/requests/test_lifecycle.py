"""The read model on the real broker: allocation events published as the allocation service would drive
requests through every status, tolerate duplicates and disorder, and cancellation ends them.

The stack here runs the requests service alone, so that no real allocation service adds events of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import create_async_engine

from shared.events import payloads as p
from shared.events.envelope import CloudEvent, new_event
from shared.kafka import make_producer
from tests.conftest import Infra
from tests.factories import request_body
from tests.integration.requests.conftest import RequestsDatabase
from tests.support.polling import eventually
from tests.support.stack import ServiceStack, make_stack

STATUS_CHANGED = "vidnova.request.status_changed.v1"
FULFILLED = "vidnova.request.fulfilled.v1"
CANCELLED = "vidnova.request.cancelled.v1"


class AllocationService:
    """Publishes allocation events for one request onto ``<prefix>.allocations``, keyed by request id."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, request: dict[str, Any]) -> None:
        self.producer, self.topic, self.request = producer, topic, request
        self.lot_id = uuid.uuid4()

    def event(
        self, kind: type[p.AllocationEvent], allocation: uuid.UUID, quantity: int, **extra: Any
    ) -> CloudEvent:
        request = self.request
        payload = kind.model_validate(
            {
                "allocation_id": allocation,
                "request_id": request["id"],
                "request_ref": request["ref"],
                "lot_id": self.lot_id,
                "donor_id": "jica",
                "region": request["region"],
                "settlement": request["settlement"],
                "facility": request["facility"],
                "category": request["category"],
                "quantity": quantity,
                **_defaults(kind),
                **extra,
            }
        )
        return new_event(payload, source="allocation")

    def waitlisted(self, unmet: int) -> CloudEvent:
        request = self.request
        payload = p.RequestWaitlisted(
            request_id=request["id"],
            ref=request["ref"],
            region=request["region"],
            category=request["category"],
            priority=request["priority"],
            unmet_quantity=unmet,
            reason="no stock fits now",
        )
        return new_event(payload, source="allocation")

    async def publish(self, *events: CloudEvent) -> None:
        for event in events:
            await self.producer.send_and_wait(self.topic, event.encode(), key=event.key)


def _defaults(kind: type[p.AllocationEvent]) -> dict[str, Any]:
    return {
        p.AllocationProposed: {
            "reason": "nearest compatible lot",
            "expires_at": datetime.now(UTC) + timedelta(days=3),
        },
        p.AllocationApproved: {"approved_by": "coord-1"},
        p.AllocationRejected: {"reason": "wrong voltage", "rejected_by": "coord-1"},
        p.AllocationExpired: {"proposed_at": datetime.now(UTC)},
        p.AllocationReleased: {"reason": "request cancelled"},
        p.AllocationDispatched: {"carrier": "Nova Poshta", "waybill": "WB-1", "eta": date.today()},
        p.AllocationDelivered: {},
    }[kind]


@pytest.fixture(scope="module")
async def lone(infra: Infra) -> AsyncIterator[ServiceStack]:
    services = await make_stack(
        broker=infra.broker, database=infra.database, tmp_dir=infra.tmp_dir, names=("requests",)
    )
    try:
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="module")
async def producer(lone: ServiceStack) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(lone.kafka_settings())
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


@pytest.fixture(scope="module")
async def lone_db(lone: ServiceStack) -> AsyncIterator[RequestsDatabase]:
    engine = create_async_engine(lone.database_url("requests"))
    try:
        yield RequestsDatabase(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def kharkiv(lone: ServiceStack) -> AsyncIterator[httpx.AsyncClient]:
    async with lone.client("requests", "kharkiv") as client:
        yield client


async def file(client: httpx.AsyncClient, quantity: int) -> dict[str, Any]:
    response = await client.post("/v1/requests", json=request_body(quantity=quantity))
    assert response.status_code == 201, response.text
    return response.json()


def allocations(lone: ServiceStack, producer: AIOKafkaProducer, request: dict[str, Any]) -> AllocationService:
    return AllocationService(producer, lone.kafka_settings().topic("allocations"), request)


async def reaches(
    client: httpx.AsyncClient, request: dict[str, Any], until: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    async def current() -> dict[str, Any]:
        return (await client.get(f"/v1/requests/{request['id']}")).json()

    return await eventually(current, until=until, timeout_s=60, what=what)


def status_is(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["status"] == status


async def test_allocation_events_drive_a_request_through_every_status_to_fulfilled(
    lone: ServiceStack, producer: AIOKafkaProducer, lone_db: RequestsDatabase, kharkiv: httpx.AsyncClient
) -> None:
    request = await file(kharkiv, quantity=4)
    feed = allocations(lone, producer, request)
    a, b = uuid.uuid4(), uuid.uuid4()
    steps: list[tuple[list[CloudEvent], str, dict[str, int]]] = [
        ([feed.waitlisted(4)], "waitlisted", {"waitlisted": 4}),
        ([feed.event(p.AllocationProposed, a, 2)], "partially_allocated", {"proposed": 2, "waitlisted": 2}),
        ([feed.event(p.AllocationProposed, b, 2)], "allocated", {"proposed": 4, "waitlisted": 0}),
        ([feed.event(p.AllocationApproved, a, 2)], "allocated", {"proposed": 2, "approved": 2}),
        ([feed.event(p.AllocationApproved, b, 2)], "approved", {"proposed": 0, "approved": 4}),
        ([feed.event(p.AllocationDispatched, a, 2)], "in_delivery", {"approved": 2, "dispatched": 2}),
        (
            [feed.event(p.AllocationDelivered, a, 2, received_quantity=2, rejected_quantity=0)],
            "in_delivery",
            {"dispatched": 0, "delivered": 2},
        ),
        (
            [
                feed.event(p.AllocationDispatched, b, 2),
                feed.event(p.AllocationDelivered, b, 2, received_quantity=2, rejected_quantity=0),
            ],
            "fulfilled",
            {"approved": 0, "dispatched": 0, "delivered": 4},
        ),
    ]
    published: list[CloudEvent] = []
    for events, status, quantities in steps:
        await feed.publish(*events)
        published.extend(events)
        ids = {str(e.id) for e in published}
        state = await reaches(
            kharkiv,
            request,
            lambda r, ids=ids: ids <= {t["event_id"] for t in r["timeline"]},
            f"{[e.type for e in events]} applied",
        )
        assert state["status"] == status, state
        assert {k: state["quantities"][k] for k in quantities} == quantities, state["quantities"]

    timeline = state["timeline"]
    assert [t["event_id"] for t in timeline].count(str(published[-1].id)) == 1
    assert len(timeline) == len({t["event_id"] for t in timeline}), "an event appears twice in the timeline"
    assert [t["type"] for t in timeline] == [
        "vidnova.request.submitted.v1",
        *(e.type for e in published),
        FULFILLED,
    ]
    assert [t["at"] for t in timeline] == sorted(t["at"] for t in timeline)

    changes = await lone_db.events_of(request["id"], STATUS_CHANGED)
    assert [(c["data"]["previous_status"], c["data"]["status"]) for c in changes] == [
        ("submitted", "waitlisted"),
        ("waitlisted", "partially_allocated"),
        ("partially_allocated", "allocated"),
        ("allocated", "approved"),
        ("approved", "in_delivery"),
        ("in_delivery", "fulfilled"),
    ]
    assert changes[-1]["data"]["quantities"]["delivered"] == 4
    assert changes[-1]["causationid"] == str(published[-1].id)
    [fulfilled] = await lone_db.events_of(request["id"], FULFILLED)
    assert fulfilled["data"]["delivered_quantity"] == 4

    refused = await kharkiv.post(f"/v1/requests/{request['id']}/cancel", json={"reason": "too late"})
    assert (refused.status_code, refused.json()["current_status"]) == (409, "fulfilled")


async def test_duplicates_and_disorder_give_the_same_request(
    lone: ServiceStack, producer: AIOKafkaProducer, lone_db: RequestsDatabase, kharkiv: httpx.AsyncClient
) -> None:
    request = await file(kharkiv, quantity=3)
    feed = allocations(lone, producer, request)
    a, b = uuid.uuid4(), uuid.uuid4()
    early_snapshot = feed.waitlisted(3)
    late_snapshot = feed.waitlisted(1)
    proposed_a = feed.event(p.AllocationProposed, a, 2)
    approved_a = feed.event(p.AllocationApproved, a, 2)
    dispatched_a = feed.event(p.AllocationDispatched, a, 2)
    delivered_a = feed.event(
        p.AllocationDelivered, a, 2, received_quantity=1, rejected_quantity=1, note="cracked"
    )
    proposed_b = feed.event(p.AllocationProposed, b, 1)
    approved_b = feed.event(p.AllocationApproved, b, 1)
    # Latest stage first, earlier stages after, everything of A twice, the older waitlist snapshot last.
    await feed.publish(
        delivered_a,
        approved_b,
        late_snapshot,
        approved_a,
        delivered_a,
        proposed_a,
        dispatched_a,
        approved_a,
        proposed_b,
        proposed_a,
        early_snapshot,
    )
    unique = [
        delivered_a,
        approved_b,
        late_snapshot,
        approved_a,
        proposed_a,
        dispatched_a,
        proposed_b,
        early_snapshot,
    ]
    ids = {str(e.id) for e in unique}
    state = await reaches(
        kharkiv, request, lambda r: ids <= {t["event_id"] for t in r["timeline"]}, "all events applied"
    )
    # One unit received, one rejected on arrival (back to unmet, as the newest snapshot says), one approved.
    assert state["quantities"] == {
        "requested": 3,
        "proposed": 0,
        "approved": 1,
        "dispatched": 0,
        "delivered": 1,
        "waitlisted": 1,
    }
    assert state["status"] == "in_delivery"
    entries = [t["event_id"] for t in state["timeline"]]
    assert len(entries) == len(set(entries)) == len(unique) + 1  # + request.submitted
    assert [t["at"] for t in state["timeline"]] == sorted(t["at"] for t in state["timeline"])
    assert await lone_db.events_of(request["id"], FULFILLED) == []


async def test_cancel_before_any_delivery_cancels_and_later_releases_keep_it_cancelled(
    lone: ServiceStack, producer: AIOKafkaProducer, lone_db: RequestsDatabase, kharkiv: httpx.AsyncClient
) -> None:
    request = await file(kharkiv, quantity=2)
    feed = allocations(lone, producer, request)
    a = uuid.uuid4()
    await feed.publish(feed.event(p.AllocationProposed, a, 2), feed.event(p.AllocationApproved, a, 2))
    await reaches(kharkiv, request, status_is("approved"), "approved")

    cancelled = await kharkiv.post(f"/v1/requests/{request['id']}/cancel", json={"reason": "grid restored"})
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["cancellation"]["reason"] == "grid restored"
    assert body["cancellation"]["by"] == "kharkiv-admin"
    [event] = await lone_db.events_of(request["id"], CANCELLED)
    assert (
        event["data"] | {"status": "cancelled", "delivered_quantity": 0, "reason": "grid restored"}
        == event["data"]
    )
    assert (await lone_db.events_of(request["id"], STATUS_CHANGED))[-1]["data"]["status"] == "cancelled"

    release = feed.event(p.AllocationReleased, a, 2)
    await feed.publish(release)
    state = await reaches(
        kharkiv,
        request,
        lambda r: str(release.id) in {t["event_id"] for t in r["timeline"]},
        "release applied",
    )
    assert state["status"] == "cancelled"
    assert state["quantities"]["approved"] == 0

    again = await kharkiv.post(f"/v1/requests/{request['id']}/cancel", json={"reason": "twice"})
    assert again.status_code == 409
    assert again.json()["current_status"] == "cancelled"
    assert len(await lone_db.events_of(request["id"], CANCELLED)) == 1


async def test_cancel_after_partial_delivery_closes_the_request_short(
    lone: ServiceStack, producer: AIOKafkaProducer, lone_db: RequestsDatabase, kharkiv: httpx.AsyncClient
) -> None:
    request = await file(kharkiv, quantity=3)
    feed = allocations(lone, producer, request)
    a, b = uuid.uuid4(), uuid.uuid4()
    await feed.publish(
        feed.event(p.AllocationProposed, a, 1),
        feed.event(p.AllocationApproved, a, 1),
        feed.event(p.AllocationDispatched, a, 1),
        feed.event(p.AllocationDelivered, a, 1, received_quantity=1, rejected_quantity=0),
        feed.event(p.AllocationProposed, b, 2),
        feed.event(p.AllocationApproved, b, 2),
    )
    await reaches(
        kharkiv,
        request,
        lambda r: r["quantities"]["delivered"] == 1 and r["quantities"]["approved"] == 2,
        "partial",
    )
    async with lone.client("requests", "coordinator") as coordinator:
        closed = await coordinator.post(
            f"/v1/requests/{request['id']}/cancel", json={"reason": "covered locally"}
        )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    [event] = await lone_db.events_of(request["id"], CANCELLED)
    assert (event["data"]["status"], event["data"]["delivered_quantity"]) == ("closed", 1)

    release = feed.event(p.AllocationReleased, b, 2)
    await feed.publish(release)
    state = await reaches(
        kharkiv,
        request,
        lambda r: str(release.id) in {t["event_id"] for t in r["timeline"]},
        "release applied",
    )
    assert state["status"] == "closed"
    assert state["quantities"] | {"delivered": 1, "approved": 0, "waitlisted": 0} == state["quantities"]
    again = await kharkiv.post(f"/v1/requests/{request['id']}/cancel", json={"reason": "again"})
    assert (again.status_code, again.json()["current_status"]) == (409, "closed")
