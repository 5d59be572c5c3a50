"""SPEC §15 with a real service app, broker and database: a poison record is dead-lettered, listed,
its cause fixed, replayed with its effect exactly once; another is discarded from the shell."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests.settings import RequestsSettings
from shared.admin import admin
from shared.auth import mint_token
from shared.consumer import Subscription
from shared.db import Database
from shared.events.envelope import CloudEvent, new_event
from shared.events.payloads import Facility, RequestSubmitted
from shared.kafka import make_producer
from shared.service import ServiceDefinition, create_service_app
from shared.settings import AuthSettings, KafkaSettings
from tests.conftest import Infra
from tests.factories import request_body
from tests.support.polling import eventually
from tests.support.probe_consumer import isolated_messaging
from tests.support.stack import ServiceStack
from vidnova.broker import free_port

REFUSING = (
    "CREATE TABLE replay_effects (event_id VARCHAR(36) PRIMARY KEY, quantity INTEGER CHECK (quantity < 0),"
    " actor VARCHAR(200))"
)
FIXED = (
    "CREATE TABLE replay_effects (event_id VARCHAR(36) PRIMARY KEY, quantity INTEGER CHECK (quantity <> 13),"
    " actor VARCHAR(200))"
)


async def record_effect(payload: RequestSubmitted, *, event: CloudEvent, session: AsyncSession) -> None:
    await session.execute(
        sa.text("INSERT INTO replay_effects (event_id, quantity, actor) VALUES (:e, :q, :a)"),
        # The actor an event this handler built would carry (SPEC §14.7).
        {"e": str(event.id), "q": payload.quantity, "a": new_event(payload, source="probe").actor},
    )


SUBSCRIPTION = Subscription(
    group="dlq-probe", streams=("requests",), handlers={RequestSubmitted: record_effect}
)


def submitted(quantity: int) -> CloudEvent:
    return new_event(
        RequestSubmitted(
            request_id=uuid.uuid4(), ref="UA63-2026-000042", region="UA-63", settlement="Kharkiv",
            facility=Facility(name="Hospital", kind="hospital"), category="generator",
            specs={"power_kw": 100}, quantity=quantity, priority="high", needed_by=date(2026, 12, 31),
            submitted_at=datetime.now(UTC), created_by="dlq-probe",
        ),
        source="test",
    )  # fmt: skip


@dataclass
class Probe:
    url: str
    db: Database
    kafka: KafkaSettings
    secret: str
    database_url: str
    port: int

    def client(self, role: str = "admin") -> httpx.AsyncClient:
        token = mint_token(secret=self.secret, sub=f"{role}-1", role=role)  # type: ignore[arg-type]
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    async def effects(self) -> dict[str, int]:
        async with self.db.engine.connect() as connection:
            rows = await connection.execute(sa.text("SELECT event_id, quantity FROM replay_effects"))
            return {event_id: quantity for event_id, quantity in rows}

    async def effect_actor(self, event_id: uuid.UUID) -> str | None:
        async with self.db.engine.connect() as connection:
            query = sa.text("SELECT actor FROM replay_effects WHERE event_id = :e")
            return (await connection.execute(query, {"e": str(event_id)})).scalar_one()


@pytest.fixture(scope="module")
async def probe(infra: Infra) -> AsyncIterator[Probe]:
    """The service runtime (consumers, admin API) with one poisoned subscription, under uvicorn here."""
    kafka, url, db = await isolated_messaging(infra, "dl", REFUSING)
    secret, port = uuid.uuid4().hex * 2, free_port()
    settings = RequestsSettings(
        REQUESTS_DATABASE_URL=url,
        REQUESTS_PORT=port,
        kafka=kafka,
        auth=AuthSettings(VIDNOVA_AUTH_SECRET=secret),
    )
    handlers = logging.getLogger().handlers[:]
    app = create_service_app(ServiceDefinition("requests", "probe", [admin], [SUBSCRIPTION]), settings)
    logging.getLogger().handlers[:] = handlers  # the app configures logging for a process of its own
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    running = Probe(f"http://127.0.0.1:{port}", db, kafka, secret, url, port)

    async def ready() -> bool:
        async with httpx.AsyncClient(base_url=running.url) as client:
            try:
                return (await client.get("/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

    await eventually(ready, timeout_s=60, what="probe service ready")
    yield running
    server.should_exit = True
    await task
    await db.dispose()


async def dead_letter_of(probe: Probe, event: CloudEvent) -> dict[str, Any]:
    async def listed() -> list[dict[str, Any]]:
        async with probe.client() as client:
            items = (await client.get("/v1/admin/dead-letters")).json()["items"]
        return [i for i in items if i["event_id"] == str(event.id)]

    [letter] = await eventually(listed, timeout_s=60, what=f"dead letter of {event.id}")
    return letter


async def test_a_poison_record_is_listed_fixed_replayed_and_takes_effect_exactly_once(probe: Probe) -> None:
    producer = make_producer(probe.kafka)
    await producer.start()
    try:
        poison = submitted(quantity=5)
        await producer.send_and_wait(probe.kafka.topic("requests"), poison.encode(), key=b"req-1")
        letter = await dead_letter_of(probe, poison)
        assert letter["status"] == "open"
        assert letter["consumer"].endswith("dlq-probe")
        assert letter["topic"] == probe.kafka.topic("requests")
        assert letter["key"] == "req-1"
        assert letter["event_type"] == "vidnova.request.submitted.v1"
        assert letter["attempts"] == 3
        assert "IntegrityError" in letter["error"]
        assert {"partition", "offset", "created_at"} <= letter.keys()
        async with probe.client("coordinator") as coordinator:
            assert (await coordinator.get("/v1/admin/dead-letters")).status_code == 403

        async with probe.db.engine.begin() as connection:  # the operator fixes the cause
            await connection.execute(sa.text("DROP TABLE replay_effects"))
            await connection.execute(sa.text(FIXED))
        async with probe.client() as client:
            replayed = await client.post(f"/v1/admin/dead-letters/{letter['id']}/replay")
            assert replayed.status_code == 200, replayed.text
            assert (replayed.json()["status"], replayed.json()["outcome"]) == ("replayed", "handled")
            again = await client.post(f"/v1/admin/dead-letters/{letter['id']}/replay")
            assert again.status_code == 409
            assert again.json()["current_status"] == "replayed"
        assert (await probe.effects())[str(poison.id)] == 5
        # Re-handled as the consumer would have handled it: what it causes is not the replaying admin's doing.
        assert await probe.effect_actor(poison.id) == "system:probe"

        # The same record arriving again (a redelivery) is a no-op too: the processed-events table has it.
        sentinel = submitted(quantity=1)
        for event in (poison, sentinel):
            await producer.send_and_wait(probe.kafka.topic("requests"), event.encode(), key=b"req-1")
        effects = await eventually(probe.effects, until=lambda e: str(sentinel.id) in e, what="sentinel")
        assert effects[str(poison.id)] == 5
        assert len([e for e in effects if e == str(poison.id)]) == 1
    finally:
        await producer.stop()


async def test_vidnova_dlq_lists_and_discards_with_a_reason(probe: Probe) -> None:
    producer = make_producer(probe.kafka)
    await producer.start()
    try:
        unlucky = submitted(quantity=13)  # refused by the table even after the fix
        await producer.send_and_wait(probe.kafka.topic("requests"), unlucky.encode(), key=b"req-13")
        letter = await dead_letter_of(probe, unlucky)
    finally:
        await producer.stop()
    env = {**os.environ, "VIDNOVA_AUTH_SECRET": probe.secret, "REQUESTS_PORT": str(probe.port)}

    def vidnova(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "vidnova.cli", "dlq", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)

    listed = await asyncio.to_thread(vidnova, "list", "requests", "--status", "open")
    assert listed.returncode == 0, listed.stderr
    assert letter["id"] in listed.stdout
    refused = await asyncio.to_thread(vidnova, "discard", "requests", letter["id"])
    assert refused.returncode == 2
    discarded = await asyncio.to_thread(vidnova, "discard", "requests", letter["id"], "--reason", "test data")
    assert discarded.returncode == 0, discarded.stdout + discarded.stderr
    async with probe.client() as client:
        discarded_page = await client.get("/v1/admin/dead-letters", params={"status": "discarded"})
        [item] = [i for i in discarded_page.json()["items"] if i["id"] == letter["id"]]
    assert (item["reason"], item["resolved_by"]) == ("test data", "cli:dlq")
    assert str(unlucky.id) not in await probe.effects()


async def test_admins_see_the_outbox_filtered_by_type_and_time(stack: ServiceStack) -> None:
    async with stack.client("requests", "kharkiv") as requests, stack.client("requests", "admin") as ops:
        created = (await requests.post("/v1/requests", json=request_body())).json()
        since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        submitted_type = "vidnova.request.submitted.v1"
        page = await ops.get("/v1/admin/outbox", params={"type": submitted_type, "since": since})
        assert page.status_code == 200, page.text
        items = page.json()["items"]
        assert str(created["id"]) in {i["key"] for i in items}
        assert all(i["event_type"] == submitted_type for i in items)
        later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        assert (await ops.get("/v1/admin/outbox", params={"since": later})).json()["items"] == []
        # "-189" is not read as a Unix time; "publishd" is a typo, not ignored
        for bad in (
            {"since": "-189"},
            {"until": "yesterday"},
            {"publishd": "true"},
        ):  # not a Unix time; a typo
            refused = await ops.get("/v1/admin/outbox", params=bad)
            assert refused.status_code == 422, refused.text
            assert [e["field"] for e in refused.json()["errors"]] == [f"query.{next(iter(bad))}"]
        twice = await ops.get("/v1/admin/outbox", params=[("published", "true"), ("published", "false")])
        assert twice.status_code == 422
        assert "given more than once" in twice.text
    async with stack.client("requests", "coordinator") as coordinator:
        assert (await coordinator.get("/v1/admin/outbox")).status_code == 403
