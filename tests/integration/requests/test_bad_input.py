"""SPEC §7 rule 7 on POST /v1/requests: bad input is a 4xx problem naming the field and writes nothing."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import hypothesis
import pytest
from hypothesis import strategies as st

from tests.factories import request_body
from tests.integration.requests.conftest import RequestsDatabase
from tests.support.api_fuzz import examples_per_operation
from tests.support.stack import ServiceStack

PROBLEM = "application/problem+json"


def marked(marker: str, **overrides: Any) -> dict[str, Any]:
    """A request body whose settlement and facility name carry a marker we can look for afterwards."""
    body = request_body(
        settlement=f"Ізюм {marker}", facility={"name": f"Лікарня {marker}", "kind": "hospital"}
    )
    body.update(overrides)
    return body


def without(key: str) -> dict[str, Any]:
    return {key: None}


def yesterday() -> str:
    return (date.today() - timedelta(days=2)).isoformat()


INVALID_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown region", {"region": "UA-99"}, "body.region"),
    ("missing region", without("region"), "body.region"),
    ("unknown category", {"category": "spaceship"}, "body.category"),
    ("unknown attribute", {"specs": {"power_kw": 100, "colour": "red"}}, "body.specs.colour"),
    ("number as text", {"specs": {"power_kw": "lots"}}, "body.specs.power_kw"),
    ("negative number", {"specs": {"power_kw": -5}}, "body.specs.power_kw"),
    ("number beyond float range", {"specs": {"power_kw": 10**400}}, "body.specs.power_kw"),
    ("enumeration value not in the catalog", {"specs": {"fuel": ["diesel", "coal"]}}, "body.specs.fuel"),
    ("empty list of acceptable values", {"specs": {"fuel": []}}, "body.specs.fuel"),
    ("specs not an object", {"specs": ["power_kw"]}, "body.specs"),
    ("zero quantity", {"quantity": 0}, "body.quantity"),
    ("quantity over 1000", {"quantity": 1001}, "body.quantity"),
    ("quantity as text", {"quantity": "2"}, "body.quantity"),
    ("quantity as boolean", {"quantity": True}, "body.quantity"),
    ("fractional quantity", {"quantity": 2.5}, "body.quantity"),
    ("unknown priority", {"priority": "urgent"}, "body.priority"),
    ("unknown facility kind", {"facility": {"name": "X", "kind": "castle"}}, "body.facility.kind"),
    ("blank facility name", {"facility": {"name": "   ", "kind": "hospital"}}, "body.facility.name"),
    (
        "unknown facility field",
        {"facility": {"name": "X", "kind": "hospital", "beds": 3}},
        "body.facility.beds",
    ),
    ("invalid e-mail", {"contact": {"name": "A", "email": "not-an-email"}}, "body.contact.email"),
    ("invalid phone", {"contact": {"name": "A", "phone": "call me"}}, "body.contact.phone"),
    ("missing contact", without("contact"), "body.contact"),
    ("justification over 4000 characters", {"justification": "я" * 4001}, "body.justification"),
    ("NUL in the justification", {"justification": "before\x00after"}, "body.justification"),
    ("needed_by not a date", {"needed_by": "soon"}, "body.needed_by"),
    ("needed_by as a number", {"needed_by": 0}, "body.needed_by"),
    ("needed_by in the past", {"needed_by": yesterday()}, "body.needed_by"),
    ("unknown top-level field", {"colour": "red"}, "body.colour"),
]


@pytest.mark.parametrize(("case", "override", "field"), INVALID_FIELDS, ids=[c[0] for c in INVALID_FIELDS])
async def test_invalid_field_is_422_naming_it_and_nothing_is_written(
    stack: ServiceStack, requests_db: RequestsDatabase, case: str, override: dict[str, Any], field: str
) -> None:
    marker = uuid.uuid4().hex
    body = {k: v for k, v in marked(marker, **override).items() if v is not None}
    async with stack.client("requests", "coordinator") as client:
        response = await client.post("/v1/requests", content=json.dumps(body), headers=_json)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert field in [e["field"] for e in problem["errors"]], problem
    await _assert_nothing_written(requests_db, marker)


async def test_lone_surrogate_in_text_is_422(stack: ServiceStack, requests_db: RequestsDatabase) -> None:
    marker = uuid.uuid4().hex
    # Valid JSON (an escaped lone surrogate) that no UTF-8 database can store.
    raw = json.dumps(marked(marker, justification="broken \ud800 text"))
    async with stack.client("requests", "coordinator") as client:
        response = await client.post("/v1/requests", content=raw, headers=_json)
    assert response.status_code == 422, response.text
    assert "body.justification" in [e["field"] for e in response.json()["errors"]]
    await _assert_nothing_written(requests_db, marker)


@pytest.mark.parametrize(
    ("case", "raw"),
    [
        ("truncated JSON", '{"region": "UA-63", "settlement": "{marker}"'),
        ("not JSON at all", "region=UA-63&settlement={marker}"),
        ("trailing garbage", '{"settlement": "{marker}"} x'),
    ],
)
async def test_malformed_json_is_400_problem(
    stack: ServiceStack, requests_db: RequestsDatabase, case: str, raw: str
) -> None:
    marker = uuid.uuid4().hex
    async with stack.client("requests", "coordinator") as client:
        response = await client.post("/v1/requests", content=raw.replace("{marker}", marker), headers=_json)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["title"] == "Malformed JSON"
    await _assert_nothing_written(requests_db, marker)


async def test_invalid_utf8_is_400_problem(stack: ServiceStack, requests_db: RequestsDatabase) -> None:
    marker = uuid.uuid4().hex
    raw = json.dumps(marked(marker), ensure_ascii=False).encode().replace("Ізюм".encode(), b"\xff\xfe\xfd")
    async with stack.client("requests", "coordinator") as client:
        response = await client.post("/v1/requests", content=raw, headers=_json)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    await _assert_nothing_written(requests_db, marker)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_body_over_one_mebibyte_is_413(
    stack: ServiceStack, requests_db: RequestsDatabase, declared: bool
) -> None:
    marker = uuid.uuid4().hex
    raw = json.dumps(marked(marker, justification="я" * (600 * 1024)), ensure_ascii=False).encode()

    async def chunks():  # no Content-Length: the limit must hold for a streamed body too
        for start in range(0, len(raw), 64 * 1024):
            yield raw[start : start + 64 * 1024]

    async with stack.client("requests", "coordinator") as client:
        response = await client.post("/v1/requests", content=raw if declared else chunks(), headers=_json)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    await _assert_nothing_written(requests_db, marker)


async def test_ukrainian_text_round_trips_intact(stack: ServiceStack, requests_db: RequestsDatabase) -> None:
    text = {
        "settlement": "Гуляйполе",
        "facility": {"name": "КНП «Центральна лікарня» ім. Т. Г. Шевченка — корпус №2", "kind": "hospital"},  # noqa: RUF001
        "justification": "Без світла з 14 листопада; ґрунтові води, їжак, Ї ї Є є Ґ ґ — «лапки» та апостроф’",  # noqa: RUF001
        "contact": {"name": "Олена Коваль-Ївченко", "email": "olena@example.org"},
    }
    async with stack.client("requests", "kharkiv") as client:
        created = await client.post("/v1/requests", json=request_body(**text))
        assert created.status_code == 201, created.text
        fetched = (await client.get(created.headers["Location"])).json()
    for response in (created.json(), fetched):
        assert response["settlement"] == text["settlement"]
        assert response["facility"]["name"] == text["facility"]["name"]
        assert response["justification"] == text["justification"]
        assert response["contact"]["name"] == text["contact"]["name"]
    [submitted] = await requests_db.events_of(fetched["id"], "vidnova.request.submitted.v1")
    assert submitted["data"]["settlement"] == text["settlement"]
    assert submitted["data"]["facility"]["name"] == text["facility"]["name"]


async def test_rejected_request_does_not_consume_a_tracking_number(stack: ServiceStack) -> None:
    """The number is issued inside the request's transaction: a 422 after issuing it rolls it back."""
    region = {"region": "UA-07", "settlement": "Луцьк"}
    async with stack.client("requests", "coordinator") as client:
        first = (await client.post("/v1/requests", json=request_body(**region))).json()
        bad = await client.post("/v1/requests", json=request_body(**region, specs={"colour": "red"}))
        assert bad.status_code == 422
        second = (await client.post("/v1/requests", json=request_body(**region))).json()
    assert _number(second["ref"]) == _number(first["ref"]) + 1


_json = {"content-type": "application/json"}


def _number(ref: str) -> int:
    return int(ref.rsplit("-", 1)[1])


async def _assert_nothing_written(db: RequestsDatabase, marker: str) -> None:
    assert await db.requests_matching(marker) == 0
    assert await db.events(containing=marker) == []


async def test_nothing_written_check_sees_a_write(stack: ServiceStack, requests_db: RequestsDatabase) -> None:
    """The check above would notice a write: a valid marked request is found in the table and the outbox."""
    marker = uuid.uuid4().hex
    async with stack.client("requests", "coordinator") as client:
        response = await client.post("/v1/requests", json=marked(marker))
    assert response.status_code == 201
    assert await requests_db.requests_matching(marker) == 1
    assert await requests_db.events(containing=marker)
    with pytest.raises(AssertionError):
        await _assert_nothing_written(requests_db, marker)


def test_any_text_round_trips_or_is_refused_by_name(stack: ServiceStack) -> None:
    """Arbitrary Unicode in every free-text field: 201 with the text intact, or a 422 naming that field."""
    fields = st.text(st.characters(codec="utf-8"), min_size=1, max_size=60)

    @hypothesis.settings(max_examples=examples_per_operation(), deadline=None, database=None)
    @hypothesis.given(settlement=fields, facility=fields, justification=fields, contact=fields)
    def submit(settlement: str, facility: str, justification: str, contact: str) -> None:
        body = request_body(
            settlement=settlement,
            facility={"name": facility, "kind": "school"},
            justification=justification,
            contact={"name": contact},
        )
        response = client.post("/v1/requests", json=body)
        if response.status_code == 201:
            created = response.json()
            assert created["settlement"] == settlement.strip()
            assert created["facility"]["name"] == facility.strip()
            assert created["justification"] == justification.strip()
            assert created["contact"]["name"] == contact.strip()
        else:
            assert response.status_code == 422, response.text
            assert {e["field"] for e in response.json()["errors"]} <= {
                "body.settlement",
                "body.facility.name",
                "body.justification",
                "body.contact.name",
            }

    with httpx.Client(base_url=stack.url("requests"), headers=stack.headers("kharkiv"), timeout=30) as client:
        submit()


async def test_enumerations_accept_what_people_type_and_answer_the_catalog_spelling(
    stack: ServiceStack,
) -> None:
    typed = {
        "generator": (
            {"phases": 3, "fuel": ["DIESEL", "Gas"]},
            {"phases": ["three"], "fuel": ["diesel", "gas"]},
        ),
        "transformer": (
            {"primary_kv": "110", "secondary_kv": [0.4, "10"]},
            {"primary_kv": ["110"], "secondary_kv": ["0.4", "10"]},
        ),
    }
    async with stack.client("requests", "coordinator") as client:
        for category, (specs, canonical) in typed.items():
            response = await client.post("/v1/requests", json=request_body(category=category, specs=specs))
            assert response.status_code == 201, response.text
            assert response.json()["specs"] == canonical
