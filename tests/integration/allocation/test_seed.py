"""`vidnova seed` loads the demo scenario through the public APIs, and a second run creates nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import Infra
from tests.support.polling import eventually
from tests.support.stack import ServiceStack, make_stack
from vidnova.seed import Scenario, seed


@pytest.fixture(scope="module")
async def fresh(infra: Infra) -> AsyncIterator[ServiceStack]:
    stack = await make_stack(
        broker=infra.broker, database=infra.database, tmp_dir=infra.tmp_dir, names=("requests", "allocation")
    )
    try:
        yield stack
    finally:
        stack.stop()


async def _counts(stack: ServiceStack) -> tuple[int, int, int]:
    async with (
        stack.client("allocation", "coordinator") as allocation,
        stack.client("requests", "coordinator") as requests,
    ):
        lots = (await allocation.get("/v1/lots", params={"limit": 200})).json()["items"]
        allocations = (await allocation.get("/v1/allocations", params={"limit": 200})).json()["items"]
        filed = (await requests.get("/v1/requests", params={"limit": 200})).json()["items"]
    return len(lots), len(filed), len(allocations)


async def test_seed_loads_the_scenario_once_and_walks_one_allocation_to_delivery(fresh: ServiceStack) -> None:
    scenario = Scenario.load()
    urls = {"requests_url": fresh.url("requests"), "allocation_url": fresh.url("allocation")}
    first = await seed(**urls, secret=fresh.secret)
    assert first.donors == {"created": 3}
    assert first.programmes == {"created": len(scenario.programme_bodies())}
    assert first.lots == {"created": len(scenario.lots)}
    assert first.requests == {"created": len(scenario.requests)}
    assert first.walked == ["approved", "dispatched", "delivered"]
    assert {lot["donor_id"] for lot in scenario.lots} == {"jica", "undp", "promtech"}
    assert {r["settlement"] for r in scenario.requests} >= {
        "Харків", "Херсон", "Миколаїв", "Одеса", "Київ", "Суми", "Чернігів", "Запоріжжя",
    }  # fmt: skip

    # Matching settles and the delivery reaches the requests service before counting.
    settled = await eventually(
        lambda: _statuses(fresh),
        until=lambda s: len(s) == len(scenario.requests) and ("submitted", 0) not in s and s[-1][1] > 0,
        what="every seeded request matched or waitlisted, and the walked one delivered",
    )
    before = await _counts(fresh)
    again = await seed(**urls, secret=fresh.secret)
    assert again.donors == {"existing": 3}
    assert again.programmes == {"existing": len(scenario.programme_bodies())}
    assert again.lots == {"existing": len(scenario.lots)}
    assert again.requests == {"existing": len(scenario.requests)}
    assert again.walked == []  # already delivered
    assert await _counts(fresh) == before
    assert await _statuses(fresh) == settled


async def _statuses(stack: ServiceStack) -> list[tuple[str, int]]:
    """Each request's status and delivered units, the most delivered last."""
    async with stack.client("requests", "coordinator") as requests:
        items = (await requests.get("/v1/requests", params={"limit": 200})).json()["items"]
    return sorted(
        ((item["status"], item["quantities"]["delivered"]) for item in items), key=lambda s: (s[1], s[0])
    )


async def test_seeded_donors_have_their_names_and_programmes_and_lots_name_them(fresh: ServiceStack) -> None:
    await seed(
        requests_url=fresh.url("requests"), allocation_url=fresh.url("allocation"), secret=fresh.secret
    )
    async with fresh.client("allocation", "coordinator") as allocation:
        donors = {d["id"]: d for d in (await allocation.get("/v1/donors")).json()["items"]}
        programmes = {p["id"]: p for p in (await allocation.get("/v1/programmes")).json()["items"]}
        lots = (await allocation.get("/v1/lots", params={"limit": 200})).json()["items"]
    assert donors["jica"]["name_en"] == "Japan International Cooperation Agency (JICA)"
    assert (donors["jica"]["kind"], donors["jica"]["country"]) == ("government", "JP")
    assert donors["undp"]["kind"] == "agency"
    assert {p["donor_id"] for p in programmes.values()} == {"jica", "undp"}
    assert programmes["jica-erp-2"]["budget"] == {"currency": "JPY", "amount": "15000000000"}
    turbines = next(lot for lot in lots if lot["category"] == "gas_turbine")
    assert (turbines["programme_id"], turbines["currency"]) == ("jica-erp-2", "JPY")
    assert all(lot["unit_value"] is not None for lot in lots)
    for lot in lots:
        if lot["programme_id"] is not None:
            assert programmes[lot["programme_id"]]["donor_id"] == lot["donor_id"]
