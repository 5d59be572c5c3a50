"""A correlation id travels from the HTTP call through every event it causes."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa

from shared.db import Database
from tests.factories import request_body
from tests.support.polling import eventually
from tests.support.stack import ServiceStack


async def _outbox_events(stack: ServiceStack, service: str, correlation: str) -> list[dict]:
    db = Database(stack.database_url(service))  # type: ignore[arg-type]
    try:
        async with db.session() as session:
            rows = await session.execute(sa.text("SELECT payload FROM outbox"))
            events = [json.loads(payload) for (payload,) in rows.all()]
    finally:
        await db.dispose()
    return [e for e in events if e["correlationid"] == correlation]


async def test_correlation_id_is_echoed_and_carried_into_caused_events(stack: ServiceStack) -> None:
    correlation = f"test-{uuid.uuid4()}"
    async with stack.client("requests", "kharkiv") as client:
        response = await client.post(
            "/v1/requests", json=request_body(), headers={"X-Correlation-ID": correlation}
        )
    assert response.status_code == 201
    assert response.headers["X-Correlation-ID"] == correlation

    # The status change the waitlisting causes may already be there too, with the same correlation id.
    events = await _outbox_events(stack, "requests", correlation)
    submitted = [e for e in events if e["type"] == "vidnova.request.submitted.v1"]
    assert len(submitted) == 1, events
    caused = await eventually(
        lambda: _outbox_events(stack, "allocation", correlation),
        until=lambda events: any(e["type"] == "vidnova.request.waitlisted.v1" for e in events),
        what="waitlisted event with the same correlation id",
    )
    waitlisted = next(e for e in caused if e["type"] == "vidnova.request.waitlisted.v1")
    assert waitlisted["causationid"] == submitted[0]["id"]


async def test_a_generated_correlation_id_is_returned_when_none_is_sent(stack: ServiceStack) -> None:
    async with stack.client("requests") as client:
        response = await client.get("/healthz")
    assert uuid.UUID(response.headers["X-Correlation-ID"])
