"""``/v1/lots``: registration (idempotent, validated), reading, scoping, adjusting, withdrawing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.factories import lot_body
from tests.integration.allocation.desk import Desk


async def test_donor_registers_a_lot_and_inventory_registered_is_published(desk: Desk) -> None:
    ns = desk.namespace()
    async with desk.donor("jica") as jica:
        response = await jica.post(
            "/v1/lots",
            json=lot_body(category=ns.category, specs=ns.lot_specs, quantity=3, eligible_regions=[ns.region]),
        )
    assert response.status_code == 201, response.text
    lot = response.json()
    assert response.headers["Location"] == f"/v1/lots/{lot['id']}"
    assert lot["donor_id"] == "jica"
    assert lot["status"] == "active"
    assert lot["quantities"] == {
        "total": 3, "free": 3, "proposed": 0, "approved": 0, "dispatched": 0, "delivered": 0,
        "rejected_on_delivery": 0,
    }  # fmt: skip
    [(name, data)] = await desk.published(lot["id"])
    assert name == "inventory.registered"
    assert data["quantity"] == 3
    assert data["eligible_regions"] == [ns.region]
    assert data["location"] == lot["location"]


async def test_coordinator_registers_for_a_named_donor_and_must_name_one(desk: Desk) -> None:
    ns = desk.namespace()
    body = lot_body(category=ns.category, specs=ns.lot_specs, eligible_regions=[ns.region])
    async with desk.coordinator() as coordinator:
        missing = await coordinator.post("/v1/lots", json=body)
        named = await coordinator.post("/v1/lots", json={**body, "donor_id": "undp"})
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["body.donor_id"]
    assert named.status_code == 201
    assert named.json()["donor_id"] == "undp"


async def test_donor_cannot_register_for_another_donor(desk: Desk) -> None:
    async with desk.donor("jica") as jica:
        response = await jica.post("/v1/lots", json=lot_body(donor_id="undp", eligible_regions=["UA-21"]))
    assert response.status_code == 403


async def test_region_admin_cannot_register_or_read_lots(desk: Desk) -> None:
    async with desk.region_admin("UA-63") as kharkiv:
        assert (await kharkiv.post("/v1/lots", json=lot_body(donor_id="jica"))).status_code == 403
        assert (await kharkiv.get("/v1/lots")).status_code == 403


async def test_same_idempotency_key_and_body_returns_the_original_lot(desk: Desk) -> None:
    ns = desk.namespace()
    body = lot_body(category=ns.category, specs=ns.lot_specs, eligible_regions=[ns.region])
    key = {"Idempotency-Key": f"lot-{uuid.uuid4()}"}
    async with desk.donor("jica") as jica:
        first = await jica.post("/v1/lots", json=body, headers=key)
        again = await jica.post("/v1/lots", json=body, headers=key)
        changed = await jica.post("/v1/lots", json={**body, "quantity": 9}, headers=key)
        listed = (await jica.get("/v1/lots", params={"category": ns.category, "limit": 200})).json()["items"]
    async with desk.donor("undp") as undp:
        other_caller = await undp.post("/v1/lots", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert changed.status_code == 409
    assert [lot["id"] for lot in listed if lot["eligible_regions"] == [ns.region]] == [first.json()["id"]]
    assert other_caller.status_code == 201  # keys are per caller
    assert other_caller.json()["id"] != first.json()["id"]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"category": "spaceship"}, "body.category"),
        ({"specs": {"power_kw": 500, "fuel": "diesel"}}, "body.specs.phases"),
        ({"specs": {"power_kw": 500, "fuel": "coal", "phases": "three"}}, "body.specs.fuel"),
        (
            {"specs": {"power_kw": 500, "fuel": "diesel", "phases": "three", "colour": "red"}},
            "body.specs.colour",
        ),
        ({"specs": {"power_kw": 10**400, "fuel": "diesel", "phases": "three"}}, "body.specs.power_kw"),
        ({"quantity": 0}, "body.quantity"),
        ({"quantity": "4"}, "body.quantity"),
        ({"location": {"region": "UA-99", "site": "x"}}, "body.location.region"),
        ({"location": {"region": "UA-63"}}, "body.location.site"),
        ({"eligible_regions": ["UA-63", "XX-1"]}, "body.eligible_regions.1"),
        ({"eligible_regions": []}, "body.eligible_regions"),
        ({"available_from": "tomorrow"}, "body.available_from"),
        ({"notes": "bad \x00 byte"}, "body.notes"),
        ({"serial": "typo"}, "body.serial"),
    ],
)
async def test_invalid_lot_is_422_naming_the_field_and_writes_nothing(
    desk: Desk, override: dict[str, Any], field: str
) -> None:
    async with desk.donor("lint-donor") as donor:
        response = await donor.post("/v1/lots", json=lot_body(**override))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
        assert (await donor.get("/v1/lots")).json()["items"] == []


async def test_donor_reads_only_its_own_lots(desk: Desk) -> None:
    ns = desk.namespace()
    theirs = await desk.register_lot(ns, donor_id="undp")
    mine = await desk.register_lot(ns, donor_id="jica")
    async with desk.donor("jica") as jica:
        assert (await jica.get(f"/v1/lots/{theirs['id']}")).status_code == 404
        assert (await jica.get(f"/v1/lots/{mine['id']}")).status_code == 200
        listed = (await jica.get("/v1/lots", params={"limit": 200})).json()["items"]
        assert {lot["donor_id"] for lot in listed} == {"jica"}
        assert (await jica.get("/v1/lots", params={"donor_id": "undp"})).status_code == 403
        assert (await jica.patch(f"/v1/lots/{theirs['id']}", json={"quantity": 5})).status_code == 404
        assert (await jica.post(f"/v1/lots/{theirs['id']}/withdraw")).status_code == 404
    assert (await desk.lot(theirs["id"]))["quantity"] == 1


async def test_listing_filters_and_paginates_newest_first(desk: Desk) -> None:
    ns = desk.namespace()
    created = [await desk.register_lot(ns, donor_id="pager") for _ in range(5)]
    seen: list[str] = []
    cursor = None
    async with desk.coordinator() as coordinator:
        while True:
            params = {
                "donor_id": "pager",
                "category": ns.category,
                "limit": 2,
                **({"cursor": cursor} if cursor else {}),
            }
            page = (await coordinator.get("/v1/lots", params=params)).json()
            seen += [lot["id"] for lot in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert (await coordinator.get("/v1/lots", params={"cursor": "garbage"})).status_code == 422
        assert (await coordinator.get("/v1/lots", params={"region": "UA-99"})).status_code == 422
    assert seen == [lot["id"] for lot in reversed(created)]


async def test_quantity_cannot_go_below_committed_units(desk: Desk) -> None:
    ns = desk.namespace()
    lot = await desk.register_lot(ns, quantity=3)
    await desk.file_request(ns, quantity=2)
    await desk.wait_allocations(
        lambda a: sum(x["quantity"] for x in a) == 2, what="2 proposed", lot_id=lot["id"]
    )
    async with desk.donor("jica") as jica:
        refused = await jica.patch(f"/v1/lots/{lot['id']}", json={"quantity": 1})
        lowered = await jica.patch(f"/v1/lots/{lot['id']}", json={"quantity": 2})
    assert refused.status_code == 409
    assert refused.json()["committed"] == 2
    assert "2 unit(s) committed" in refused.json()["detail"]
    assert lowered.status_code == 200
    quantities = lowered.json()["quantities"]
    assert (quantities["total"], quantities["free"], quantities["proposed"]) == (2, 0, 2)
    assert [name for name, _ in await desk.published(lot["id"])] == [
        "inventory.registered",
        "inventory.adjusted",
    ]


async def test_raising_the_quantity_serves_waiting_requests(desk: Desk) -> None:
    ns = desk.namespace()
    lot = await desk.register_lot(ns, quantity=1)
    first = await desk.file_request(ns, quantity=1)
    await desk.proposal_for(first)
    second = await desk.file_request(ns, quantity=1)
    await desk.wait_request(second["id"], lambda r: r["status"] == "waitlisted", "second request waitlisted")
    async with desk.donor("jica") as jica:
        raised = await jica.patch(f"/v1/lots/{lot['id']}", json={"quantity": 2})
    assert raised.status_code == 200
    assert raised.json()["quantities"]["free"] == 0  # matched within the same transaction
    proposal = await desk.proposal_for(second)
    assert proposal["lot_id"] == lot["id"]


async def test_withdraw_takes_free_stock_only(desk: Desk) -> None:
    ns = desk.namespace()
    lot = await desk.register_lot(ns, quantity=5)
    request = await desk.file_request(ns, quantity=2)
    await desk.proposal_for(request)
    async with desk.donor("jica") as jica:
        withdrawn = await jica.post(f"/v1/lots/{lot['id']}/withdraw")
        again = await jica.post(f"/v1/lots/{lot['id']}/withdraw")
        patched = await jica.patch(f"/v1/lots/{lot['id']}", json={"quantity": 9})
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["quantities"]["total"] == 2
    assert withdrawn.json()["quantities"]["free"] == 0
    assert withdrawn.json()["quantities"]["proposed"] == 2  # committed units still go to the request
    assert again.status_code == patched.status_code == 409
    assert again.json()["current_status"] == "withdrawn"
    events = await desk.published(lot["id"])
    assert events[-1] == (
        "inventory.withdrawn",
        {"lot_id": lot["id"], "donor_id": "jica", "withdrawn_quantity": 3},
    )
