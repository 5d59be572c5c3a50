"""PATCH priority and cancel: who may, what they emit, and what they refuse (SPEC §1, §5)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.factories import request_body
from tests.integration.requests.conftest import RequestsDatabase
from tests.support.stack import ServiceStack

UPDATED = "vidnova.request.updated.v1"
CANCELLED = "vidnova.request.cancelled.v1"


async def file(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/requests", json=request_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def test_coordinator_changes_priority_and_request_updated_is_emitted(
    stack: ServiceStack, requests_db: RequestsDatabase
) -> None:
    async with stack.client("requests", "coordinator") as coordinator:
        request = await file(coordinator, priority="low")
        changed = await coordinator.patch(f"/v1/requests/{request['id']}", json={"priority": "critical"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["priority"] == "critical"
        unchanged = await coordinator.patch(f"/v1/requests/{request['id']}", json={"priority": "critical"})
        assert unchanged.status_code == 200
    [event] = await requests_db.events_of(request["id"], UPDATED)
    assert (
        event["data"] | {"priority": "critical", "previous_priority": "low", "updated_by": "coord-1"}
        == event["data"]
    )
    timeline = unchanged.json()["timeline"]
    assert [t["type"] for t in timeline].count(UPDATED) == 1
    assert event["id"] in {t["event_id"] for t in timeline}


@pytest.mark.parametrize(
    ("who", "status"),
    [("kharkiv", 403), ("jica", 403)],
)
async def test_only_coordinators_and_admins_change_priority(
    stack: ServiceStack, who: str, status: int
) -> None:
    async with (
        stack.client("requests", "coordinator") as coordinator,
        stack.client("requests", who) as caller,
    ):
        request = await file(coordinator)
        response = await caller.patch(f"/v1/requests/{request['id']}", json={"priority": "low"})
    assert response.status_code == status


async def test_admin_changes_priority(stack: ServiceStack) -> None:
    async with stack.client("requests", "admin") as admin:
        request = await file(admin, priority="medium")
        response = await admin.patch(f"/v1/requests/{request['id']}", json={"priority": "high"})
    assert (response.status_code, response.json()["priority"]) == (200, "high")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priority": "urgent"}, "body.priority"),
        ({}, "body.priority"),
        ({"priority": "low", "quantity": 5}, "body.quantity"),
    ],
)
async def test_invalid_patch_is_422_naming_the_field(stack: ServiceStack, body: dict, field: str) -> None:
    async with stack.client("requests", "coordinator") as coordinator:
        request = await file(coordinator)
        response = await coordinator.patch(f"/v1/requests/{request['id']}", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_region_admin_cancels_its_own_request(
    stack: ServiceStack, requests_db: RequestsDatabase
) -> None:
    async with stack.client("requests", "kharkiv") as kharkiv:
        request = await file(kharkiv)
        response = await kharkiv.post(
            f"/v1/requests/{request['id']}/cancel", json={"reason": "Мережу відновлено"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancellation"]["reason"] == "Мережу відновлено"
    [event] = await requests_db.events_of(request["id"], CANCELLED)
    assert event["data"]["cancelled_by"] == "kharkiv-admin"
    assert event["id"] in {t["event_id"] for t in response.json()["timeline"]}


async def test_another_regions_admin_cannot_see_or_cancel_and_donors_cannot_cancel(
    stack: ServiceStack, requests_db: RequestsDatabase
) -> None:
    async with (
        stack.client("requests", "kharkiv") as kharkiv,
        stack.client("requests", "odesa") as odesa,
        stack.client("requests", "jica") as donor,
    ):
        request = await file(kharkiv)
        hidden = await odesa.post(f"/v1/requests/{request['id']}/cancel", json={"reason": "not mine"})
        forbidden = await donor.post(f"/v1/requests/{request['id']}/cancel", json={"reason": "not mine"})
        still = (await kharkiv.get(f"/v1/requests/{request['id']}")).json()
    assert hidden.status_code == 404
    assert forbidden.status_code == 403
    assert still["cancellation"] is None
    assert await requests_db.events_of(request["id"], CANCELLED) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "body.reason"), ({"reason": "  "}, "body.reason"), ({"reason": "x" * 1001}, "body.reason")],
)
async def test_cancel_needs_a_reason(stack: ServiceStack, body: dict, field: str) -> None:
    async with stack.client("requests", "coordinator") as coordinator:
        request = await file(coordinator)
        response = await coordinator.post(f"/v1/requests/{request['id']}/cancel", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_cancelled_request_refuses_priority_changes_with_its_status(stack: ServiceStack) -> None:
    async with stack.client("requests", "coordinator") as coordinator:
        request = await file(coordinator)
        await coordinator.post(f"/v1/requests/{request['id']}/cancel", json={"reason": "duplicate"})
        response = await coordinator.patch(f"/v1/requests/{request['id']}", json={"priority": "high"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["current_status"] == "cancelled"


async def test_commands_on_unknown_request_are_404(stack: ServiceStack) -> None:
    unknown = uuid.uuid4()
    async with stack.client("requests", "coordinator") as coordinator:
        cancel = await coordinator.post(f"/v1/requests/{unknown}/cancel", json={"reason": "x"})
        patch = await coordinator.patch(f"/v1/requests/{unknown}", json={"priority": "low"})
    assert (cancel.status_code, patch.status_code) == (404, 404)
