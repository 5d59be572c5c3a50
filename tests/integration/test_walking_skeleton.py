"""The skeleton end to end: submit → request.submitted → waitlisted → requests status + coordinator inbox."""

from __future__ import annotations

import pytest

from tests.factories import request_body
from tests.support.polling import eventually
from tests.support.stack import ServiceStack


async def test_submitted_request_is_waitlisted_and_coordinators_are_told(stack: ServiceStack) -> None:
    async with (
        stack.client("requests", "kharkiv") as requests,
        stack.client("notifications", "coordinator") as inbox,
    ):
        created = await requests.post("/v1/requests", json=request_body())
        assert created.status_code == 201, created.text
        request = created.json()
        assert created.headers["Location"] == f"/v1/requests/{request['id']}"
        assert request["ref"].startswith("UA63-")
        assert request["status"] == "submitted"

        async def current() -> dict:
            return (await requests.get(f"/v1/requests/{request['id']}")).json()

        waitlisted = await eventually(current, until=lambda r: r["status"] == "waitlisted", what="waitlisted")
        assert waitlisted["quantities"]["waitlisted"] == 2
        assert [t["type"] for t in waitlisted["timeline"]] == [
            "vidnova.request.submitted.v1",
            "vidnova.request.waitlisted.v1",
        ]

        async def coordinator_items() -> list[dict]:
            items = (await inbox.get("/v1/notifications")).json()["items"]
            # Critical requests also get a "critical request" notice; this counts the waitlisted one.
            return [
                n
                for n in items
                if n["subject_id"] == request["id"] and n["type"] == "vidnova.request.waitlisted.v1"
            ]

        items = await eventually(coordinator_items, what="coordinator notification")
        assert len(items) == 1
        assert request["ref"] in items[0]["body"]


async def test_region_admin_cannot_read_another_regions_request(stack: ServiceStack) -> None:
    async with stack.client("requests", "kharkiv") as kharkiv, stack.client("requests", "odesa") as odesa:
        created = (await kharkiv.post("/v1/requests", json=request_body())).json()
        response = await odesa.get(f"/v1/requests/{created['id']}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        listed = (await odesa.get("/v1/requests")).json()["items"]
        assert all(item["region"] == "UA-51" for item in listed)


async def test_region_admin_cannot_file_for_another_region(stack: ServiceStack) -> None:
    async with stack.client("requests", "odesa") as odesa:
        response = await odesa.post("/v1/requests", json=request_body(region="UA-63"))
        assert response.status_code == 403
        assert response.json()["status"] == 403


@pytest.mark.parametrize(
    ("headers", "detail"),
    [({}, "missing bearer token"), ({"Authorization": "Bearer not-a-jwt"}, "invalid token")],
)
async def test_missing_or_bad_token_is_401_with_challenge(
    stack: ServiceStack, headers: dict, detail: str
) -> None:
    async with stack.client("requests") as anonymous:
        response = await anonymous.get("/v1/requests", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert detail in response.json()["detail"]


async def test_donor_cannot_file_requests(stack: ServiceStack) -> None:
    async with stack.client("requests", "jica") as donor:
        response = await donor.post("/v1/requests", json=request_body())
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"region": "UA-99"}, "body.region"),
        ({"category": "spaceship"}, "body.category"),
        ({"specs": {"power_kw": 100, "colour": "red"}}, "body.specs.colour"),
        ({"specs": {"power_kw": "lots"}}, "body.specs.power_kw"),
        ({"quantity": 0}, "body.quantity"),
        ({"quantity": 1001}, "body.quantity"),
        ({"priority": "urgent"}, "body.priority"),
        ({"facility": {"name": "X", "kind": "castle"}}, "body.facility.kind"),
        ({"contact": {"name": "A", "email": "not-an-email"}}, "body.contact.email"),
        ({"justification": "x" * 4001}, "body.justification"),
        ({"needed_by": "soon"}, "body.needed_by"),
    ],
)
async def test_invalid_field_is_422_naming_it_and_writes_nothing(
    stack: ServiceStack, override: dict, field: str
) -> None:
    async with stack.client("requests", "coordinator") as client:
        before = await _count(client)
        response = await client.post("/v1/requests", json=request_body(**override))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert field in [e["field"] for e in problem["errors"]], problem
        assert await _count(client) == before


async def test_malformed_json_is_400_problem(stack: ServiceStack) -> None:
    async with stack.client("requests", "coordinator") as client:
        response = await client.post(
            "/v1/requests", content=b'{"region": "UA-63",', headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json()["title"] == "Malformed JSON"


async def test_body_over_one_mebibyte_is_413(stack: ServiceStack) -> None:
    async with stack.client("requests", "coordinator") as client:
        response = await client.post("/v1/requests", json=request_body(justification="я" * (600 * 1024)))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_health_and_metrics_endpoints(stack: ServiceStack) -> None:
    for name in stack.names:
        async with stack.client(name) as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["database"]["ok"]
            assert ready.json()["broker"]["ok"]
            metrics = await client.get("/metrics")
            assert "vidnova_http_requests_total" in metrics.text


async def _count(client) -> int:
    total, cursor = 0, None
    while True:
        page = (
            await client.get("/v1/requests", params={"limit": 200, **({"cursor": cursor} if cursor else {})})
        ).json()
        total += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return total
