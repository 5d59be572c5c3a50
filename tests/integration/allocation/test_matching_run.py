"""``POST /v1/matching/run``: coordinators re-match on demand and see what changed."""

from __future__ import annotations

import uuid
from datetime import date

from services.allocation.matching.values import Reason
from services.allocation.models import Lot
from shared.db import Database
from tests.integration.allocation.desk import Desk


async def test_run_proposes_stock_that_arrived_without_a_trigger(desk: Desk) -> None:
    ns = desk.namespace()
    request = await desk.file_request(ns, quantity=2)
    await desk.wait_request(request["id"], lambda r: r["status"] == "waitlisted", "waitlisted")
    # Stock restored straight into the database (e.g. from a backup) triggers nothing by itself.
    lot_id = uuid.uuid4()
    db = Database(desk.stack.database_url("allocation"))
    try:
        async with db.session() as session, session.begin():
            session.add(
                Lot(
                    id=lot_id,
                    donor_id="jica",
                    category=ns.category,
                    specs=ns.lot_specs,
                    quantity=2,
                    location_region=ns.region,
                    location_site="restored",
                    available_from=date.today(),
                    eligible_regions=[ns.region],
                    created_by="restore",
                )
            )
    finally:
        await db.dispose()
    assert await desk.allocations(request_id=request["id"]) == []

    async with desk.coordinator() as coordinator:
        run = await coordinator.post("/v1/matching/run", json={"category": ns.category})
        again = await coordinator.post("/v1/matching/run")
    assert run.status_code == 200, run.text
    assert run.json()["categories"] == [ns.category]
    [proposal] = [p for p in run.json()["proposed"] if p["request_id"] == request["id"]]
    assert (proposal["lot_id"], proposal["quantity"], proposal["status"]) == (str(lot_id), 2, "proposed")
    assert again.status_code == 200
    assert ns.category in again.json()["categories"]
    assert again.json()["proposed"] == []  # nothing changed since
    assert [name for name, _ in await desk.published(request["id"])][-1] == "allocation.proposed"


async def test_only_coordinators_run_matching(desk: Desk) -> None:
    for client in (desk.donor("jica"), desk.region_admin("UA-63")):
        async with client:
            assert (await client.post("/v1/matching/run")).status_code == 403
    async with desk.coordinator() as coordinator:
        assert (await coordinator.post("/v1/matching/run", json={"category": "spaceship"})).status_code == 422


async def test_a_proposal_lists_the_facts_of_its_reason_which_word_the_same_sentence(desk: Desk) -> None:
    ns = desk.namespace()
    await desk.register_lot(ns, quantity=1)
    request = await desk.file_request(ns, quantity=1, priority="high")
    proposal = await desk.proposal_for(request)
    [listed] = [a for a in await desk.allocations(request_id=request["id"]) if a["id"] == proposal["id"]]
    facts = listed["reason_facts"]
    assert facts is not None
    assert set(facts) == {
        "rank", "priority", "front_line", "distance_km", "available_by_needed_by", "compatible_lots", "basis"
    }  # fmt: skip
    assert (facts["rank"], facts["priority"], facts["basis"]) == (1, "high", "nearest")
    assert facts["available_by_needed_by"] is True
    assert facts["compatible_lots"] >= 1
    assert Reason(**facts).describe() == listed["reason"]
    [proposed] = [data for name, data in await desk.published(request["id"]) if name == "allocation.proposed"]
    assert proposed["reason_facts"] == facts
