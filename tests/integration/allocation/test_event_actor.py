"""Every state-changing event names its actor (SPEC §14.7): the token's ``sub`` for a person's request,
``system:<job>`` for what the services do on their own. Read from each service's outbox."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from sqlmodel import col, select

from services.allocation.models import Lot
from shared.db import Database
from shared.outbox import OutboxRecord
from tests.integration.allocation.desk import Desk
from tests.support.polling import eventually

COORDINATOR, JICA = "coordinator:desk", "donor:jica"


async def actors(desk: Desk, service: str, key: str) -> list[tuple[str, str | None]]:
    """(event name, envelope ``actor``) of the service's events keyed by ``key``, in publishing order."""
    db = Database(desk.stack.database_url(service))  # type: ignore[arg-type]
    try:
        async with db.session() as session:
            rows = await session.exec(
                select(OutboxRecord).where(col(OutboxRecord.key) == key).order_by(col(OutboxRecord.id))
            )
            return [(_name(row.event_type), json.loads(row.payload).get("actor")) for row in rows.all()]
    finally:
        await db.dispose()


def _name(event_type: str) -> str:
    return event_type.removeprefix("vidnova.").rsplit(".", 1)[0]


async def test_each_step_of_an_allocation_names_the_person_who_took_it(desk: Desk) -> None:
    ns = desk.namespace()
    receiver = f"region_admin:{ns.region}"
    lot = await desk.register_lot(ns, quantity=3)
    request = await desk.file_request(ns)
    allocation = await desk.proposal_for(request)
    async with desk.coordinator() as coordinator:
        assert (await coordinator.post(f"/v1/allocations/{allocation['id']}/approve")).status_code == 200
    async with desk.donor("jica") as donor:
        dispatched = await donor.post(
            f"/v1/allocations/{allocation['id']}/dispatch", json={"waybill": "WB-1"}
        )
        assert dispatched.status_code == 200, dispatched.text
        assert (await donor.patch(f"/v1/lots/{lot['id']}", json={"quantity": 2})).status_code == 200
        assert (await donor.post(f"/v1/lots/{lot['id']}/withdraw")).status_code == 200
    async with desk.region_admin(ns.region) as region_admin:
        receipt = {"received_quantity": 1}
        delivered = await region_admin.post(f"/v1/allocations/{allocation['id']}/deliver", json=receipt)
        assert delivered.status_code == 200, delivered.text

    assert await actors(desk, "allocation", request["id"]) == [
        ("allocation.proposed", "system:matching"),  # matched by the consumer of request.submitted
        ("allocation.approved", COORDINATOR),
        ("allocation.dispatched", JICA),
        ("allocation.delivered", receiver),
    ]
    assert await actors(desk, "allocation", lot["id"]) == [
        ("inventory.registered", JICA),
        ("inventory.adjusted", JICA),
        ("inventory.withdrawn", JICA),
    ]
    filed = await actors(desk, "requests", request["id"])
    assert filed[0] == ("request.submitted", COORDINATOR)

    # What the requests service derives from allocation events is its own doing.
    derived = await eventually(
        lambda: actors(desk, "requests", request["id"]),
        until=lambda events: ("request.fulfilled", "system:requests") in events,
        what="request.fulfilled from the requests service's consumer",
    )
    assert {actor for _, actor in derived[1:]} == {"system:requests"}


async def test_a_requests_changes_name_who_made_them_and_the_release_is_the_allocation_services(
    desk: Desk,
) -> None:
    ns = desk.namespace()
    await desk.register_lot(ns)
    request = await desk.file_request(ns, priority="low")
    await desk.proposal_for(request)
    async with desk.coordinator("requests") as coordinator:
        patched = await coordinator.patch(f"/v1/requests/{request['id']}", json={"priority": "high"})
        assert patched.status_code == 200, patched.text
    async with desk.region_admin(ns.region, "requests") as region_admin:
        cancelled = await region_admin.post(
            f"/v1/requests/{request['id']}/cancel", json={"reason": "grid back"}
        )
        assert cancelled.status_code == 200, cancelled.text
    assert (await actors(desk, "requests", request["id"]))[:1] == [("request.submitted", COORDINATOR)]
    changes = [
        e
        for e in await actors(desk, "requests", request["id"])
        if e[0] in ("request.updated", "request.cancelled")
    ]
    assert changes == [("request.updated", COORDINATOR), ("request.cancelled", f"region_admin:{ns.region}")]
    released = await eventually(
        lambda: actors(desk, "allocation", request["id"]),
        until=lambda events: any(name == "allocation.released" for name, _ in events),
        what="allocation.released by the allocation service's consumer",
    )
    assert ("allocation.released", "system:allocation") in released


async def test_a_rejection_and_the_matching_it_triggers_are_the_coordinators(desk: Desk) -> None:
    ns = desk.namespace()
    await desk.register_lot(ns, donor_id="jica")
    await desk.register_lot(ns, donor_id="undp")
    request = await desk.file_request(ns)
    first = await desk.proposal_for(request)
    async with desk.coordinator() as coordinator:
        rejected = await coordinator.post(f"/v1/allocations/{first['id']}/reject", json={"reason": "too far"})
    assert rejected.status_code == 200, rejected.text
    assert (await actors(desk, "allocation", request["id"]))[1:] == [
        ("allocation.rejected", COORDINATOR),
        ("allocation.proposed", COORDINATOR),  # re-matched inside the coordinator's request
    ]


async def test_a_matching_run_is_the_coordinators_doing(desk: Desk) -> None:
    ns = desk.namespace()
    request = await desk.file_request(ns)
    await desk.wait_request(request["id"], lambda r: r["status"] == "waitlisted", "waitlisted")
    db = Database(desk.stack.database_url("allocation"))
    try:  # stock that arrives without a trigger (restored from a backup): only a run matches it
        async with db.session() as session, session.begin():
            session.add(_restored_lot(ns.category, ns.lot_specs, ns.region))
    finally:
        await db.dispose()
    async with desk.coordinator() as coordinator:
        run = await coordinator.post("/v1/matching/run", json={"category": ns.category})
    assert run.status_code == 200, run.text
    assert await actors(desk, "allocation", request["id"]) == [
        ("request.waitlisted", "system:matching"),
        ("allocation.proposed", COORDINATOR),
    ]


def _restored_lot(category: str, specs: dict[str, Any], region: str) -> Lot:
    return Lot(
        id=uuid.uuid4(),
        donor_id="jica",
        category=category,
        specs=specs,
        quantity=1,
        location_region=region,
        location_site="restored",
        available_from=date.today(),
        eligible_regions=[region],
        created_by="restore",
    )


async def test_the_registry_events_name_the_admin_who_made_the_change(desk: Desk) -> None:
    donor_id, programme_id = f"actor-{uuid.uuid4().hex[:8]}", f"actor-prog-{uuid.uuid4().hex[:8]}"
    programme = {
        "id": programme_id, "donor_id": donor_id, "name_en": "Phase 1", "name_uk": "Фаза 1",
        "period": {"start": "2025-01-01", "end": "2025-12-31"}, "budget": {"currency": "EUR", "amount": 1000},
    }  # fmt: skip
    async with desk.client("allocation", "admin") as admin:
        donor = {"id": donor_id, "name_en": "Caritas", "name_uk": "Карітас", "kind": "ngo", "country": "DE"}
        assert (await admin.post("/v1/donors", json=donor)).status_code == 201
        assert (await admin.patch(f"/v1/donors/{donor_id}", json={"name_en": "B"})).status_code == 200
        assert (await admin.post("/v1/programmes", json=programme)).status_code == 201
        assert (
            await admin.patch(f"/v1/programmes/{programme_id}", json={"name_uk": "Ф1"})
        ).status_code == 200
    assert await actors(desk, "allocation", donor_id) == [
        ("donor.registered", "admin:desk"),
        ("donor.updated", "admin:desk"),
    ]
    assert await actors(desk, "allocation", programme_id) == [
        ("programme.registered", "admin:desk"),
        ("programme.updated", "admin:desk"),
    ]
