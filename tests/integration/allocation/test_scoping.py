"""Who may read and act on lots and allocations (SPEC §1): donors their own, region admins their region."""

from __future__ import annotations

from typing import Any

from tests.integration.allocation.desk import Desk, Namespace


async def _proposal(desk: Desk, ns: Namespace, donor_id: str) -> dict[str, Any]:
    await desk.register_lot(ns, donor_id=donor_id)
    return await desk.proposal_for(await desk.file_request(ns))


async def test_donor_cannot_read_or_dispatch_another_donors_allocation(desk: Desk) -> None:
    ns = desk.namespace()
    theirs = await _proposal(desk, ns, "undp")
    async with desk.coordinator() as coordinator:
        assert (await coordinator.post(f"/v1/allocations/{theirs['id']}/approve")).status_code == 200
    async with desk.donor("jica") as jica:
        assert (await jica.get(f"/v1/allocations/{theirs['id']}")).status_code == 404
        assert (await jica.post(f"/v1/allocations/{theirs['id']}/dispatch", json={})).status_code == 404
        listed = (await jica.get("/v1/allocations", params={"limit": 200})).json()["items"]
        assert all(a["donor_id"] == "jica" for a in listed)
        assert (await jica.get("/v1/allocations", params={"donor_id": "undp"})).status_code == 403
    async with desk.donor("undp") as undp:
        assert (await undp.get(f"/v1/allocations/{theirs['id']}")).status_code == 200
        assert (await undp.post(f"/v1/allocations/{theirs['id']}/dispatch", json={})).status_code == 200


async def test_donors_and_region_admins_cannot_approve_or_reject(desk: Desk) -> None:
    ns = desk.namespace()
    allocation = await _proposal(desk, ns, "jica")
    for client in (desk.donor("jica"), desk.region_admin(ns.region)):
        async with client:
            assert (await client.post(f"/v1/allocations/{allocation['id']}/approve")).status_code == 403
            rejected = await client.post(f"/v1/allocations/{allocation['id']}/reject", json={"reason": "no"})
            assert rejected.status_code == 403
    [unchanged] = await desk.allocations(request_id=allocation["request_id"])
    assert unchanged["status"] == "proposed"


async def test_only_the_receiving_region_confirms_delivery(desk: Desk) -> None:
    ns = desk.namespace()
    allocation = await _proposal(desk, ns, "jica")
    async with desk.coordinator() as coordinator:
        assert (await coordinator.post(f"/v1/allocations/{allocation['id']}/approve")).status_code == 200
        assert (
            await coordinator.post(f"/v1/allocations/{allocation['id']}/dispatch", json={})
        ).status_code == 200
    receipt = {"received_quantity": 1}
    elsewhere = "UA-21" if ns.region != "UA-21" else "UA-77"
    async with desk.region_admin(elsewhere) as stranger, desk.donor("jica") as donor:
        assert (await stranger.get(f"/v1/allocations/{allocation['id']}")).status_code == 404
        assert (
            await stranger.post(f"/v1/allocations/{allocation['id']}/deliver", json=receipt)
        ).status_code == 404
        assert (
            await donor.post(f"/v1/allocations/{allocation['id']}/deliver", json=receipt)
        ).status_code == 403
    async with desk.region_admin(ns.region) as receiver:
        listed = (await receiver.get("/v1/allocations", params={"limit": 200})).json()["items"]
        assert {a["region"] for a in listed} == {ns.region}
        assert (await receiver.get("/v1/allocations", params={"region": elsewhere})).status_code == 403
        delivered = await receiver.post(f"/v1/allocations/{allocation['id']}/deliver", json=receipt)
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["delivered_by"] == f"region_admin:{ns.region}"


async def test_region_admin_cannot_dispatch(desk: Desk) -> None:
    ns = desk.namespace()
    allocation = await _proposal(desk, ns, "jica")
    async with desk.coordinator() as coordinator:
        assert (await coordinator.post(f"/v1/allocations/{allocation['id']}/approve")).status_code == 200
    async with desk.region_admin(ns.region) as region_admin:
        assert (
            await region_admin.post(f"/v1/allocations/{allocation['id']}/dispatch", json={})
        ).status_code == 403


async def test_allocation_list_filters(desk: Desk) -> None:
    ns = desk.namespace()
    allocation = await _proposal(desk, ns, "filter-donor")
    for filters in (
        {"lot_id": allocation["lot_id"]},
        {"request_id": allocation["request_id"]},
        {"donor_id": "filter-donor", "status": "proposed"},
        {"region": ns.region, "donor_id": "filter-donor"},
    ):
        assert [a["id"] for a in await desk.allocations(**filters)] == [allocation["id"]], filters
    assert await desk.allocations(donor_id="filter-donor", status="approved") == []
    async with desk.coordinator() as coordinator:
        for bad in ({"status": "lost"}, {"region": "UA-99"}, {"request_id": "nope"}, {"cursor": "x"}):
            assert (await coordinator.get("/v1/allocations", params=bad)).status_code == 422, bad


async def test_unknown_query_parameter_is_422_not_an_unfiltered_list(desk: Desk) -> None:
    async with desk.donor("jica") as jica:
        typo = await jica.get("/v1/lots", params={"donor": "undp"})
        known = await jica.get("/v1/lots", params={"donor_id": "jica", "limit": 1})
    async with desk.coordinator() as coordinator:
        listing = await coordinator.get("/v1/allocations", params={"stauts": "proposed"})
    assert typo.status_code == listing.status_code == 422
    assert [e["field"] for e in typo.json()["errors"]] == ["query.donor"]
    assert [e["field"] for e in listing.json()["errors"]] == ["query.stauts"]
    assert known.status_code == 200
