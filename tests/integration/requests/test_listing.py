"""GET /v1/requests: SPEC §5 filters, keyset pagination under concurrent inserts, scoping per SPEC §1."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.factories import request_body
from tests.support.polling import eventually
from tests.support.stack import ServiceStack


async def all_pages(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/requests", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def file(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/requests", json=request_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def test_filters_select_by_region_status_category_priority_and_creation_time(
    stack: ServiceStack,
) -> None:
    async with stack.client("requests", "coordinator") as client:
        since = datetime.now(UTC).isoformat()
        pump = await file(client, region="UA-48", category="pump", specs={"flow_m3h": 50}, priority="low")
        generator = await file(client, region="UA-48", priority="high")
        elsewhere = await file(client, region="UA-65", category="pump", specs={}, priority="low")
        mine = {pump["id"], generator["id"], elsewhere["id"]}

        async def ids(**params: Any) -> set[str]:
            return {r["id"] for r in await all_pages(client, **{"created_after": since, **params})} & mine

        assert await ids() == mine
        assert await ids(region="UA-48") == {pump["id"], generator["id"]}
        assert await ids(category="pump") == {pump["id"], elsewhere["id"]}
        assert await ids(priority="low", region="UA-65") == {elsewhere["id"]}
        assert await ids(created_after=generator["created_at"]) == {elsewhere["id"]}

        async def status_filter_agrees() -> bool:
            # Statuses move on as events arrive, so compare a snapshot with the filter until both agree.
            pages = await all_pages(client, created_after=since)
            statuses = {r["id"]: r["status"] for r in pages if r["id"] in mine}
            for status in set(statuses.values()):
                if await ids(status=status) != {i for i, s in statuses.items() if s == status}:
                    return False
            return True

        await eventually(status_filter_agrees, what="the status filter agreeing with each request's status")
        assert await ids(status="fulfilled") == set()


async def test_list_items_come_newest_first(stack: ServiceStack) -> None:
    async with stack.client("requests", "coordinator") as client:
        items = (await client.get("/v1/requests", params={"limit": 200})).json()["items"]
    keys = [(item["created_at"], item["id"]) for item in items]
    assert keys == sorted(keys, reverse=True)


async def test_pagination_is_stable_while_requests_are_being_filed(stack: ServiceStack) -> None:
    """Every request that existed before paging is seen exactly once, however many are filed meanwhile."""
    region = "UA-74"
    async with stack.client("requests", "coordinator") as client:
        existing = {(await file(client, region=region))["id"] for _ in range(9)}
        seen: list[str] = []
        cursor = None
        while True:
            # File two more between every page: they must not shift or repeat what comes next.
            await asyncio.gather(file(client, region=region), file(client, region=region))
            params: dict[str, Any] = {"region": region, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/requests", params=params)).json()
            seen.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert len(seen) == len(set(seen)), "an item appeared on two pages"
    assert existing <= set(seen), "an item that existed before paging was skipped"


async def test_region_admin_lists_only_its_own_region(stack: ServiceStack) -> None:
    async with (
        stack.client("requests", "coordinator") as coordinator,
        stack.client("requests", "odesa") as odesa,
    ):
        kharkiv_request = await file(coordinator, region="UA-63")
        odesa_request = await file(coordinator, region="UA-51", settlement="Одеса")
        listed = await all_pages(odesa, limit=200)
        assert {item["region"] for item in listed} == {"UA-51"}
        assert odesa_request["id"] in {item["id"] for item in listed}
        assert kharkiv_request["id"] not in {item["id"] for item in listed}
        other_region = await odesa.get("/v1/requests", params={"region": "UA-63"})
        assert other_region.status_code == 403


async def test_donors_cannot_list_or_read_requests(stack: ServiceStack) -> None:
    async with (
        stack.client("requests", "coordinator") as coordinator,
        stack.client("requests", "jica") as donor,
    ):
        request = await file(coordinator)
        assert (await donor.get("/v1/requests")).status_code == 403
        hidden = await donor.get(f"/v1/requests/{request['id']}")
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"region": "UA-99"}, "query.region"),
        ({"category": "spaceship"}, "query.category"),
        ({"status": "lost"}, "query.status"),
        ({"priority": "urgent"}, "query.priority"),
        ({"created_after": "yesterday"}, "query.created_after"),
        ({"created_after": "15"}, "query.created_after"),  # not read as a Unix timestamp
        ({"limit": 201}, "query.limit"),
        ({"limit": 0}, "query.limit"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
        ({"regoin": "UA-63"}, "query.regoin"),  # a typo must not silently list every region
        ([("status", "submitted"), ("status", "closed")], "query.status"),  # one value: not the last one
        ({"cursor": "MjAyNi0wMS0wMVQwMDowMDowMHwxMjM="}, "query.cursor"),  # decodes, but not to (time, id)
        ({"q": "x" * 101}, "query.q"),
        ({"q": "\x02\x00é"}, "query.q"),  # NUL: PostgreSQL cannot hold it (found by the fuzz)
        ({"ref": "UA63-2026-" + "0" * 30}, "query.ref"),
    ],
)
async def test_invalid_filter_is_422_naming_it(
    stack: ServiceStack, params: dict[str, Any] | list[tuple[str, str]], field: str
) -> None:
    async with stack.client("requests", "coordinator") as client:
        response = await client.get("/v1/requests", params=params)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_created_after_without_offset_is_read_as_utc(stack: ServiceStack) -> None:
    async with stack.client("requests", "coordinator") as client:
        request = await file(client, region="UA-26")
        naive = request["created_at"].replace("Z", "").split("+")[0]
        response = await client.get("/v1/requests", params={"created_after": naive, "region": "UA-26"})
    assert response.status_code == 200
    assert request["id"] not in {item["id"] for item in response.json()["items"]}


async def test_unknown_request_is_404(stack: ServiceStack) -> None:
    async with stack.client("requests", "coordinator") as client:
        response = await client.get(f"/v1/requests/{uuid.uuid4()}")
    assert response.status_code == 404


async def test_a_request_is_found_by_its_ref_in_any_case(stack: ServiceStack) -> None:
    async with stack.client("requests", "coordinator") as client:
        wanted = await file(client, region="UA-07")
        await file(client, region="UA-07")
        found = await all_pages(client, ref=wanted["ref"].lower())
        other_region = await all_pages(client, ref=wanted["ref"], region="UA-63")
    assert [item["id"] for item in found] == [wanted["id"]]
    assert other_region == []


async def test_free_text_finds_ref_settlement_and_facility_name_in_any_case(stack: ServiceStack) -> None:
    marker = uuid.uuid4().hex[:8]
    async with stack.client("requests", "coordinator") as client:
        by_settlement = await file(client, settlement=f"Ізюм-{marker}")
        by_facility = await file(
            client, facility={"name": f"Лікарня №5 {marker.upper()}", "kind": "hospital"}, priority="low"
        )
        unrelated = await file(client)

        async def found(**params: Any) -> set[str]:
            return {item["id"] for item in await all_pages(client, **params)}

        assert await found(q=marker) == {by_settlement["id"], by_facility["id"]}
        assert await found(q=f"ізюм-{marker.upper()}") == {by_settlement["id"]}  # Cyrillic folds too
        assert await found(q=marker, priority="low") == {by_facility["id"]}
        assert await found(q=unrelated["ref"].lower()) == {unrelated["id"]}
        assert unrelated["id"] not in await found(q=f"%{marker}")  # LIKE wildcards are literal


async def test_free_text_keeps_a_region_admin_in_its_region(stack: ServiceStack) -> None:
    marker = uuid.uuid4().hex[:8]
    async with (
        stack.client("requests", "coordinator") as coordinator,
        stack.client("requests", "odesa") as odesa,
    ):
        await file(coordinator, region="UA-63", settlement=f"Харків {marker}")
        mine = await file(coordinator, region="UA-51", settlement=f"Одеса {marker}")
        listed = await all_pages(odesa, q=marker)
    assert [item["id"] for item in listed] == [mine["id"]]
