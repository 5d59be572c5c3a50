"""POST/GET/DELETE /v1/subscriptions: the caller's own, validated field by field; deliveries for operators."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.notifications.harness import Harness


def email(**overrides: Any) -> dict[str, Any]:
    return {"channel": "email", "target": f"ops-{uuid.uuid4().hex[:8]}@example.org", **overrides}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (email(target="not-an-email"), "body.target"),
        (email(target="ops@"), "body.target"),
        ({"channel": "webhook", "target": "ftp://example.org/hook"}, "body.target"),
        ({"channel": "webhook", "target": "https://user:pw@example.org/hook"}, "body.target"),
        ({"channel": "webhook", "target": "https://example.org:99999/"}, "body.target"),
        ({"channel": "webhook", "target": "https://example.org/\u0000hook"}, "body.target"),
        ({"channel": "sms", "target": "+380501234567"}, "body.channel"),
        (email(locale="de"), "body.locale"),
        (email(event_types=["inventory.registered"]), "body.event_types.0"),
        (email(event_types=["allocation.delivered", "request.teleported"]), "body.event_types.1"),
        (email(event_types="allocation.delivered"), "body.event_types"),
        (email(colour="red"), "body.colour"),
        ({"channel": "email"}, "body.target"),
    ],
)
async def test_invalid_subscription_is_422_naming_the_field_and_writes_nothing(
    harness: Harness, body: dict[str, Any], field: str
) -> None:
    async with harness.client("sub-tester", "donor", donor_id="jica") as client:
        response = await client.post("/v1/subscriptions", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]]
        listing = await client.get("/v1/subscriptions")
        assert listing.status_code == 200, listing.text
        assert listing.json()["items"] == []


async def test_subscriptions_are_the_callers_own(harness: Harness) -> None:
    mine, theirs = f"me-{uuid.uuid4().hex[:6]}", f"them-{uuid.uuid4().hex[:6]}"
    async with (
        harness.client(mine, "region_admin", region="UA-63") as me,
        harness.client(theirs, "region_admin", region="UA-63") as them,
    ):
        body = email(locale="uk", event_types=["request.status_changed"])
        created = await me.post("/v1/subscriptions", json=body)
        assert created.status_code == 201, created.text
        subscription = created.json()
        assert created.headers["Location"] == f"/v1/subscriptions/{subscription['id']}"
        assert subscription["secret"] is None  # only webhooks are signed
        assert subscription["locale"] == "uk"
        assert subscription["event_types"] == ["request.status_changed"]

        duplicate = await me.post("/v1/subscriptions", json=body)
        assert duplicate.status_code == 409
        assert (await them.post("/v1/subscriptions", json=body)).status_code == 201  # another owner

        listed = (await me.get("/v1/subscriptions")).json()
        assert [s["id"] for s in listed["items"]] == [subscription["id"]]
        assert listed["next_cursor"] is None

        assert (await them.delete(f"/v1/subscriptions/{subscription['id']}")).status_code == 404
        assert (await me.delete(f"/v1/subscriptions/{subscription['id']}")).status_code == 204
        assert (await me.delete(f"/v1/subscriptions/{subscription['id']}")).status_code == 404
        assert (await me.get("/v1/subscriptions")).json()["items"] == []
        assert (await me.post("/v1/subscriptions", json=body)).status_code == 201  # free again


async def test_a_webhook_subscription_returns_its_signing_secret_once(harness: Harness) -> None:
    async with harness.client(f"hook-{uuid.uuid4().hex[:6]}", "donor", donor_id="undp") as client:
        created = await client.post(
            "/v1/subscriptions", json={"channel": "webhook", "target": "http://127.0.0.1:9/hooks/undp"}
        )
        assert created.status_code == 201, created.text
        assert created.json()["secret"].startswith("whsec_")
        listed = (await client.get("/v1/subscriptions")).json()["items"]
        assert listed[0]["id"] == created.json()["id"]
        assert "secret" not in listed[0]
        assert listed[0]["event_types"] is None  # all that concern a donor


async def test_subscriptions_list_pages_with_a_cursor(harness: Harness) -> None:
    async with harness.client(f"pager-{uuid.uuid4().hex[:6]}", "coordinator") as client:
        created = [(await client.post("/v1/subscriptions", json=email())).json()["id"] for _ in range(3)]
        first = (await client.get("/v1/subscriptions", params={"limit": 2})).json()
        second = (
            await client.get("/v1/subscriptions", params={"limit": 2, "cursor": first["next_cursor"]})
        ).json()
        assert [s["id"] for s in first["items"] + second["items"]] == created[::-1]
        assert second["next_cursor"] is None
        bad = await client.get("/v1/subscriptions", params={"cursor": "x"})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "query.cursor"


@pytest.mark.parametrize(
    ("role", "scope"), [("region_admin", {"region": "UA-63"}), ("donor", {"donor_id": "jica"})]
)
async def test_only_operators_read_deliveries(harness: Harness, role: Any, scope: dict[str, str]) -> None:
    async with harness.client("someone", role, **scope) as client:
        response = await client.get("/v1/deliveries")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


async def test_deliveries_filters_are_validated(harness: Harness) -> None:
    async with harness.client("ops-1", "admin") as client:
        for params, field in (
            ({"subject_id": "a\u0000b"}, "query.subject_id"),
            ({"status": "lost"}, "query.status"),
            ({"channel": "pigeon"}, "query.channel"),
            ({"source_event_id": "nope"}, "query.source_event_id"),
            ({"cursor": "bm90LWEtY3Vyc29y"}, "query.cursor"),
        ):
            response = await client.get("/v1/deliveries", params=params)
            assert response.status_code == 422, response.text
            assert field in [e["field"] for e in response.json()["errors"]]
