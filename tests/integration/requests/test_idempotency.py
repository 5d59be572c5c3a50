"""Idempotency-Key on POST /v1/requests: replay, conflict, per-caller scope, and a 20-way race."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.factories import request_body
from tests.integration.requests.conftest import RequestsDatabase
from tests.support.stack import ServiceStack

SUBMITTED = "vidnova.request.submitted.v1"


def unique_body(**overrides: object) -> tuple[dict[str, Any], str]:
    marker = uuid.uuid4().hex
    return request_body(settlement=f"Чугуїв {marker}", **overrides), marker


async def test_same_key_and_body_returns_the_original_response(
    stack: ServiceStack, requests_db: RequestsDatabase
) -> None:
    body, marker = unique_body()
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    async with stack.client("requests", "kharkiv") as client:
        first = await client.post("/v1/requests", json=body, headers=key)
        # The same body spelled differently (key order, explicit default) is the same request.
        respelled = dict(reversed(list(body.items())))
        second = await client.post("/v1/requests", json=respelled, headers=key)
    assert first.status_code == second.status_code == 201
    assert second.headers["Location"] == first.headers["Location"]
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await requests_db.requests_matching(marker) == 1
    assert len(await requests_db.events_of(first.json()["id"], SUBMITTED)) == 1


async def test_same_key_with_a_different_body_is_409(
    stack: ServiceStack, requests_db: RequestsDatabase
) -> None:
    body, marker = unique_body()
    other, other_marker = unique_body(quantity=3)
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    async with stack.client("requests", "kharkiv") as client:
        assert (await client.post("/v1/requests", json=body, headers=key)).status_code == 201
        conflict = await client.post("/v1/requests", json=other, headers=key)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in conflict.json()["detail"]
    assert await requests_db.requests_matching(other_marker) == 0
    assert await requests_db.requests_matching(marker) == 1


async def test_keys_are_scoped_per_caller(stack: ServiceStack, requests_db: RequestsDatabase) -> None:
    body, marker = unique_body()
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    async with (
        stack.client("requests", "kharkiv") as kharkiv,
        stack.client("requests", "coordinator") as coordinator,
    ):
        mine = await kharkiv.post("/v1/requests", json=body, headers=key)
        theirs = await coordinator.post("/v1/requests", json=body, headers=key)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert await requests_db.requests_matching(marker) == 2


async def test_a_failed_attempt_does_not_burn_the_key(stack: ServiceStack) -> None:
    body, _ = unique_body()
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    async with stack.client("requests", "coordinator") as client:
        invalid = await client.post("/v1/requests", json={**body, "specs": {"colour": "red"}}, headers=key)
        assert invalid.status_code == 422
        valid = await client.post("/v1/requests", json=body, headers=key)
    assert valid.status_code == 201


async def test_twenty_parallel_posts_with_one_key_make_one_request_and_one_event(
    stack: ServiceStack, requests_db: RequestsDatabase
) -> None:
    body, marker = unique_body()
    key = {"Idempotency-Key": f"race-{uuid.uuid4()}"}
    async with stack.client("requests", "kharkiv") as client:
        responses = await asyncio.gather(
            *(client.post("/v1/requests", json=body, headers=key) for _ in range(20))
        )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.headers["Location"] for r in responses}) == 1
    assert await requests_db.requests_matching(marker) == 1
    assert len(await requests_db.events(event_type=SUBMITTED, containing=marker)) == 1


async def test_invalid_key_header_is_422_naming_it(stack: ServiceStack) -> None:
    body, _ = unique_body()
    async with stack.client("requests", "kharkiv") as client:
        response = await client.post("/v1/requests", json=body, headers={"Idempotency-Key": "k" * 201})
    assert response.status_code == 422
    assert "header.Idempotency-Key" in [e["field"] for e in response.json()["errors"]]
