"""Lots and allocations answer their donor's registered names (null when not registered), and lots filter
by programme."""

from __future__ import annotations

from typing import Any

from tests.integration.allocation.desk import Desk
from tests.integration.allocation.test_donors import new_id, registered_donor, registered_programme

UNDP = {"name_en": "UNDP Ukraine", "name_uk": "ПРООН в Україні", "kind": "agency", "country": "UA"}


def names(item: dict[str, Any]) -> tuple[str | None, str | None]:
    return item["donor_name_en"], item["donor_name_uk"]


async def test_lots_and_allocations_carry_the_registered_donors_names(desk: Desk) -> None:
    ns = desk.namespace()
    donor = await registered_donor(desk, **UNDP)
    lot = await desk.register_lot(ns, donor_id=donor["id"])
    assert names(lot) == ("UNDP Ukraine", "ПРООН в Україні")  # the 201 answer too
    request = await desk.file_request(ns)
    proposal = await desk.proposal_for(request)
    assert names(proposal) == ("UNDP Ukraine", "ПРООН в Україні")
    async with desk.coordinator() as coordinator:
        listed = (await coordinator.get("/v1/lots", params={"donor_id": donor["id"]})).json()["items"]
        one_lot = (await coordinator.get(f"/v1/lots/{lot['id']}")).json()
        one_allocation = (await coordinator.get(f"/v1/allocations/{proposal['id']}")).json()
        approved = (await coordinator.post(f"/v1/allocations/{proposal['id']}/approve")).json()
    async with desk.donor(donor["id"]) as own:
        own_allocations = (await own.get("/v1/allocations")).json()["items"]
    assert [names(item) for item in listed] == [("UNDP Ukraine", "ПРООН в Україні")]
    assert names(one_lot) == names(one_allocation) == names(approved) == ("UNDP Ukraine", "ПРООН в Україні")
    assert [names(item) for item in own_allocations] == [("UNDP Ukraine", "ПРООН в Україні")]

    async with desk.client("allocation", "admin") as admin:
        renamed = await admin.patch(f"/v1/donors/{donor['id']}", json={"name_en": "UNDP in Ukraine"})
    assert renamed.status_code == 200, renamed.text
    assert names(await desk.lot(lot["id"])) == ("UNDP in Ukraine", "ПРООН в Україні")  # read, not copied


async def test_an_unregistered_donor_has_null_names_on_lots_and_allocations(desk: Desk) -> None:
    ns = desk.namespace()
    lot = await desk.register_lot(ns, donor_id=new_id("unregistered"))
    request = await desk.file_request(ns)
    proposal = await desk.proposal_for(request)
    [listed] = await desk.allocations(request_id=request["id"])
    assert names(lot) == names(await desk.lot(lot["id"])) == (None, None)
    assert names(proposal) == names(listed) == (None, None)


async def test_lots_filter_by_programme(desk: Desk) -> None:
    ns = desk.namespace()
    donor = await registered_donor(desk)
    first, second = [await registered_programme(desk, donor["id"]) for _ in range(2)]
    in_first = await desk.register_lot(ns, donor_id=donor["id"], programme_id=first["id"])
    in_second = await desk.register_lot(ns, donor_id=donor["id"], programme_id=second["id"])
    await desk.register_lot(ns, donor_id=donor["id"])  # no programme
    async with desk.coordinator() as coordinator:
        by_first = await coordinator.get("/v1/lots", params={"programme_id": first["id"]})
        by_second = await coordinator.get("/v1/lots", params={"programme_id": second["id"]})
        unknown = await coordinator.get("/v1/lots", params={"programme_id": "no-such-programme"})
        malformed = await coordinator.get("/v1/lots", params={"programme_id": "Not An Id"})
    async with desk.donor("someone-else") as other_donor:
        not_theirs = await other_donor.get("/v1/lots", params={"programme_id": first["id"]})
    assert [lot["id"] for lot in by_first.json()["items"]] == [in_first["id"]]
    assert [lot["programme_id"] for lot in by_second.json()["items"]] == [second["id"]]
    assert [lot["id"] for lot in by_second.json()["items"]] == [in_second["id"]]
    assert unknown.json()["items"] == []
    assert malformed.status_code == 422
    assert [error["field"] for error in malformed.json()["errors"]] == ["query.programme_id"]
    assert not_theirs.json()["items"] == []  # a donor still sees only its own lots
