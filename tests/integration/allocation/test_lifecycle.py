"""The allocation lifecycle of SPEC §4 through the public APIs, with the events each step publishes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.integration.allocation.desk import Desk, Namespace

ACTIONS = ("approve", "reject", "dispatch", "deliver")
LEGAL_FROM = {"proposed": {"approve", "reject"}, "approved": {"dispatch"}, "dispatched": {"deliver"}}
PATH_TO = {
    "proposed": (),
    "approved": ("approve",),
    "dispatched": ("approve", "dispatch"),
    "delivered": ("approve", "dispatch", "deliver"),
    "rejected": ("reject",),
}


async def act(
    desk: Desk, ns: Namespace, allocation: dict[str, Any], action: str, **body: Any
) -> httpx.Response:
    """Ask for a transition as the party SPEC §5 entrusts with it."""
    path = f"/v1/allocations/{allocation['id']}/{action}"
    if action in ("approve", "reject"):
        client = desk.coordinator()
        body = body or ({"reason": "the lot is needed for a hospital"} if action == "reject" else {})
    elif action == "dispatch":
        client = desk.donor(allocation["donor_id"])
    else:
        client = desk.region_admin(ns.region)
        body = body or {"received_quantity": allocation["quantity"]}
    async with client:
        return await client.post(path, json=body or None)


async def proposed(desk: Desk, ns: Namespace, quantity: int = 1) -> tuple[dict[str, Any], dict[str, Any]]:
    """A lot, a request it fits, and the proposal matching made."""
    await desk.register_lot(ns, quantity=quantity)
    request = await desk.file_request(ns, quantity=quantity)
    return request, await desk.proposal_for(request)


async def test_proposal_to_delivery_publishes_every_event_with_every_field(desk: Desk) -> None:
    ns = desk.namespace()
    request, allocation = await proposed(desk, ns, quantity=2)
    assert allocation["request_ref"] == request["ref"]
    assert allocation["quantity"] == 2
    assert allocation["facility"] == request["facility"]
    assert allocation["reason"].startswith("Ranked 1 in order of service")
    expires = datetime.fromisoformat(allocation["expires_at"])
    assert abs(expires - datetime.now(UTC) - timedelta(hours=72)) < timedelta(minutes=5)

    approved = await act(desk, ns, allocation, "approve")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["approved_by"]) == ("approved", "coordinator:desk")
    shipment = {
        "waybill": "WB-77",
        "carrier": "Укрпошта",
        "eta": (date.today() + timedelta(days=3)).isoformat(),
    }
    dispatched = await act(desk, ns, allocation, "dispatch", **shipment, serials=["SN-1", "SN-2"])
    assert dispatched.status_code == 200, dispatched.text
    assert dispatched.json()["serials"] == ["SN-1", "SN-2"]
    delivered = await act(desk, ns, allocation, "deliver", received_quantity=2, note="Both running")
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["received_quantity"] == 2

    events = await desk.published(request["id"])
    assert [name for name, _ in events] == [
        "allocation.proposed",
        "allocation.approved",
        "allocation.dispatched",
        "allocation.delivered",
    ]
    common = {
        "allocation_id": allocation["id"],
        "request_id": request["id"],
        "request_ref": request["ref"],
        "lot_id": allocation["lot_id"],
        "donor_id": "jica",
        "region": ns.region,
        "settlement": request["settlement"],
        "facility": request["facility"],
        "category": ns.category,
        "quantity": 2,
    }
    for _, data in events:
        assert {key: data[key] for key in common} == common
    (_, proposal), (_, approval), (_, dispatch), (_, delivery) = events
    assert proposal["reason"] == allocation["reason"]
    assert proposal["reason_facts"] == allocation["reason_facts"] is not None
    assert proposal["expires_at"].startswith(allocation["expires_at"][:19])
    assert approval["approved_by"] == "coordinator:desk"
    assert (dispatch["waybill"], dispatch["carrier"], dispatch["eta"]) == tuple(shipment.values())
    assert dispatch["serials"] == ["SN-1", "SN-2"]
    assert delivery == {
        **delivery,
        "received_quantity": 2,
        "rejected_quantity": 0,
        "note": "Both running",
        "serials": ["SN-1", "SN-2"],
        "waybill": "WB-77",
    }
    lot = await desk.lot(allocation["lot_id"])
    assert (lot["quantities"]["delivered"], lot["quantities"]["free"]) == (2, 0)
    fulfilled = await desk.wait_request(
        request["id"], lambda r: r["status"] == "fulfilled", "request fulfilled"
    )
    assert fulfilled["quantities"]["delivered"] == 2


@pytest.mark.parametrize("status", list(PATH_TO))
async def test_every_illegal_transition_is_409_with_the_current_status(desk: Desk, status: str) -> None:
    ns = desk.namespace()
    _, allocation = await proposed(desk, ns)
    for step in PATH_TO[status]:
        assert (await act(desk, ns, allocation, step)).status_code == 200
    for action in sorted(set(ACTIONS) - LEGAL_FROM.get(status, set())):
        response = await act(desk, ns, allocation, action)
        assert response.status_code == 409, (action, response.text)
        assert response.json()["current_status"] == status
    assert [a["status"] for a in await desk.allocations(request_id=allocation["request_id"])] == [status]


async def test_rejection_returns_the_stock_and_the_request_is_matched_elsewhere(desk: Desk) -> None:
    ns = desk.namespace()
    far_away = "UA-21" if ns.region != "UA-21" else "UA-77"
    near = await desk.register_lot(ns, quantity=1)
    far = await desk.register_lot(ns, quantity=1, site_region=far_away)
    request = await desk.file_request(ns, quantity=1)
    first = await desk.proposal_for(request)
    assert first["lot_id"] == near["id"]  # the nearest compatible lot is preferred

    rejected = await act(desk, ns, first, "reject", reason="Generator is promised to the hospital")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["rejection_reason"] == "Generator is promised to the hospital"
    second = await desk.proposal_for(request)
    assert second["lot_id"] == far["id"]  # never the rejected lot again for this request
    assert (await desk.lot(near["id"]))["quantities"]["free"] == 1  # rejected units are free stock again

    other = await desk.file_request(ns, quantity=1)
    assert (await desk.proposal_for(other))["lot_id"] == near["id"]
    names = [name for name, _ in await desk.published(request["id"])]
    assert names == ["allocation.proposed", "allocation.rejected", "allocation.proposed"]
    rejection = (await desk.published(request["id"]))[1][1]
    assert (rejection["reason"], rejection["rejected_by"]) == (
        "Generator is promised to the hospital",
        "coordinator:desk",
    )


async def test_cancellation_releases_proposed_and_approved_units_to_other_requests(desk: Desk) -> None:
    ns = desk.namespace()
    first_lot = await desk.register_lot(ns, quantity=1)
    second_lot = await desk.register_lot(
        ns, quantity=1, site_region="UA-21" if ns.region != "UA-21" else "UA-77"
    )
    cancelled = await desk.file_request(ns, quantity=2)
    held = await desk.wait_allocations(
        lambda a: len(a) == 2, what="two proposals", request_id=cancelled["id"]
    )
    assert (await act(desk, ns, held[0], "approve")).status_code == 200
    waiting = await desk.file_request(ns, quantity=2)
    await desk.wait_request(waiting["id"], lambda r: r["status"] == "waitlisted", "second request waitlisted")

    async with desk.coordinator("requests") as requests:
        response = await requests.post(
            f"/v1/requests/{cancelled['id']}/cancel", json={"reason": "Grid restored"}
        )
    assert response.status_code == 200, response.text

    released = await desk.wait_allocations(
        lambda a: {x["status"] for x in a} == {"released"}, what="both released", request_id=cancelled["id"]
    )
    assert all("Grid restored" in a["release_reason"] for a in released)
    for action in ACTIONS:  # released is final
        refused = await act(desk, ns, released[0], action)
        assert (refused.status_code, refused.json()["current_status"]) == (409, "released"), action
    served = await desk.wait_allocations(
        lambda a: len(a) == 2, what="stock re-matched", request_id=waiting["id"]
    )
    assert {a["lot_id"] for a in served} == {first_lot["id"], second_lot["id"]}
    names = [name for name, _ in await desk.published(cancelled["id"])]
    assert names.count("allocation.released") == 2


async def test_units_rejected_on_delivery_make_the_demand_unmet_again(desk: Desk) -> None:
    ns = desk.namespace()
    request, allocation = await proposed(desk, ns, quantity=2)
    spare = await desk.register_lot(ns, quantity=1)  # registered while nothing is unmet: stays free
    assert (await desk.lot(spare["id"]))["quantities"]["free"] == 1
    for step in ("approve", "dispatch"):
        assert (await act(desk, ns, allocation, step)).status_code == 200

    unbalanced = await act(desk, ns, allocation, "deliver", received_quantity=1, rejected_quantity=0)
    unexplained = await act(desk, ns, allocation, "deliver", received_quantity=1, rejected_quantity=1)
    assert unbalanced.status_code == unexplained.status_code == 422
    assert [e["field"] for e in unbalanced.json()["errors"]] == ["body.received_quantity"]
    assert [e["field"] for e in unexplained.json()["errors"]] == ["body.note"]

    delivered = await act(
        desk, ns, allocation, "deliver", received_quantity=1, rejected_quantity=1, note="Cracked radiator"
    )
    assert delivered.status_code == 200, delivered.text
    replacement = await desk.proposal_for(request)
    assert (replacement["lot_id"], replacement["quantity"]) == (spare["id"], 1)
    lot = (await desk.lot(allocation["lot_id"]))["quantities"]
    assert (lot["delivered"], lot["rejected_on_delivery"], lot["free"]) == (1, 1, 0)
    delivery = next(
        data for name, data in await desk.published(request["id"]) if name == "allocation.delivered"
    )
    assert (delivery["received_quantity"], delivery["rejected_quantity"]) == (1, 1)
    assert delivery["note"] == "Cracked radiator"


async def test_waitlisted_is_reported_only_when_the_unmet_number_changes(desk: Desk) -> None:
    ns = desk.namespace()
    request = await desk.file_request(ns, quantity=3)
    await desk.wait_until(
        lambda: desk.published(request["id"]), until=lambda e: len(e) == 1, what="first waitlisted report"
    )
    await desk.register_lot(ns, quantity=1)
    await desk.proposal_for(request)
    # Re-matching the category for another region's stock leaves this request's numbers as they are.
    other = Namespace(region="UA-21" if ns.region != "UA-21" else "UA-77", category=ns.category)
    await desk.register_lot(other, quantity=1)
    await desk.register_lot(other, quantity=1)

    events = await desk.published(request["id"])
    assert [(name, data.get("unmet_quantity")) for name, data in events] == [
        ("request.waitlisted", 3),
        ("allocation.proposed", None),
        ("request.waitlisted", 2),
    ]
    assert events[-1][1]["reason"].startswith("1 of 3 unit(s) covered; 2 waiting")


async def test_priority_change_reorders_the_waiting_line(desk: Desk) -> None:
    ns = desk.namespace()
    earlier = await desk.file_request(ns, quantity=1, priority="low")
    later = await desk.file_request(ns, quantity=1, priority="low")
    for request in (earlier, later):
        await desk.wait_request(request["id"], lambda r: r["status"] == "waitlisted", "waitlisted")
    async with desk.coordinator("requests") as requests:
        response = await requests.patch(f"/v1/requests/{later['id']}", json={"priority": "critical"})
    assert response.status_code == 200, response.text
    # Once request.updated is consumed, stock goes to the now-critical request, though filed later.
    await desk.wait_until(
        lambda: desk.demand(later["id"]), until=lambda d: d["priority"] == "critical", what="new priority"
    )
    lot = await desk.register_lot(ns, quantity=1)
    assert (await desk.proposal_for(later))["lot_id"] == lot["id"]
    assert await desk.allocations(request_id=earlier["id"]) == []
