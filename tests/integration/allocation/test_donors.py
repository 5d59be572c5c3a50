"""``/v1/donors`` and ``/v1/programmes``: admins register and change, coordinators and donors read, events
are published, lots name a programme of their donor, and allocation events carry the donor's names."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.factories import lot_body
from tests.integration.allocation.desk import Desk


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def donor_body(donor_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": donor_id,
        "name_en": "Japan International Cooperation Agency (JICA)",
        "name_uk": "Японське агентство міжнародного співробітництва (JICA)",
        "kind": "government",
        "country": "JP",
        "contact_emails": ["ukraine@jica.example"],
    }
    body.update(overrides)
    return body


def programme_body(programme_id: str, donor_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": programme_id,
        "donor_id": donor_id,
        "name_en": "Emergency Recovery Programme, phase 2",
        "name_uk": "Програма екстреного відновлення, фаза 2",
        "period": {"start": "2024-03-01", "end": "2026-12-31"},
        "budget": {"currency": "USD", "amount": 42500000},
        "implementing_partner": "UNOPS",
    }
    body.update(overrides)
    return body


def admin(desk: Desk) -> httpx.AsyncClient:
    return desk.client("allocation", "admin")


async def registered_donor(desk: Desk, **overrides: Any) -> dict[str, Any]:
    async with admin(desk) as client:
        response = await client.post("/v1/donors", json=donor_body(new_id("donor"), **overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def registered_programme(desk: Desk, donor_id: str, **overrides: Any) -> dict[str, Any]:
    async with admin(desk) as client:
        response = await client.post(
            "/v1/programmes", json=programme_body(new_id("prog"), donor_id, **overrides)
        )
    assert response.status_code == 201, response.text
    return response.json()


def fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


async def test_admin_registers_a_donor_once_and_donor_registered_is_published(desk: Desk) -> None:
    donor_id = new_id("jica")
    body = donor_body(donor_id)
    async with admin(desk) as client:
        first = await client.post("/v1/donors", json=body, headers={"Idempotency-Key": donor_id})
        replay = await client.post("/v1/donors", json=body, headers={"Idempotency-Key": donor_id})
        other_body = await client.post(
            "/v1/donors", json={**body, "country": "FR"}, headers={"Idempotency-Key": donor_id}
        )
        taken = await client.post("/v1/donors", json=body)
        read = await client.get(f"/v1/donors/{donor_id}")
    assert first.status_code == 201, first.text
    assert first.headers["Location"] == f"/v1/donors/{donor_id}"
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert other_body.status_code == 409
    assert taken.status_code == 409
    assert read.json() == first.json()
    assert read.json()["contact_emails"] == ["ukraine@jica.example"]
    [(name, data)] = await desk.published(donor_id)
    assert name == "donor.registered"
    assert data == {
        "donor_id": donor_id, "name_en": body["name_en"], "name_uk": body["name_uk"],
        "kind": "government", "country": "JP",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"country": "XX"}, "body.country"),
        ({"kind": "bank"}, "body.kind"),
        ({"name_uk": ""}, "body.name_uk"),
        ({"contact_emails": ["nobody"]}, "body.contact_emails.0"),
        ({"id": "Bad_Id"}, "body.id"),
    ],
)
async def test_an_invalid_donor_is_a_422_naming_the_field_and_nothing_is_written(
    desk: Desk, overrides: dict[str, Any], field: str
) -> None:
    donor_id = new_id("bad")
    async with admin(desk) as client:
        response = await client.post("/v1/donors", json=donor_body(donor_id, **overrides))
        listed = (await client.get("/v1/donors", params={"limit": 200})).json()["items"]
    assert fields(response) == [field]
    assert donor_id not in {item["id"] for item in listed}
    assert await desk.published(donor_id) == []


async def test_only_admins_write_and_region_admins_do_not_read_the_registry(desk: Desk) -> None:
    donor = await registered_donor(desk)
    async with desk.coordinator() as coordinator, desk.region_admin("UA-63") as region:
        assert (await coordinator.post("/v1/donors", json=donor_body(new_id("x")))).status_code == 403
        assert (
            await coordinator.patch(f"/v1/donors/{donor['id']}", json={"name_en": "X"})
        ).status_code == 403
        assert (await coordinator.get(f"/v1/donors/{donor['id']}")).status_code == 200
        assert (await region.get("/v1/donors")).status_code == 403
        assert (await region.get("/v1/programmes")).status_code == 403
    async with desk.donor(donor["id"]) as itself:
        assert (await itself.post("/v1/donors", json=donor_body(new_id("x")))).status_code == 403


async def test_a_donor_reads_only_itself_and_its_own_programmes(desk: Desk) -> None:
    mine, other = await registered_donor(desk), await registered_donor(desk, kind="agency", country="US")
    my_programme = await registered_programme(desk, mine["id"])
    their_programme = await registered_programme(desk, other["id"])
    async with desk.donor(mine["id"]) as client:
        assert (await client.get(f"/v1/donors/{mine['id']}")).json() == mine
        assert (await client.get(f"/v1/donors/{other['id']}")).status_code == 404
        assert [d["id"] for d in (await client.get("/v1/donors")).json()["items"]] == [mine["id"]]
        assert (await client.get(f"/v1/programmes/{my_programme['id']}")).json() == my_programme
        assert (await client.get(f"/v1/programmes/{their_programme['id']}")).status_code == 404
        listed = (await client.get("/v1/programmes")).json()["items"]
        assert [p["id"] for p in listed] == [my_programme["id"]]
        assert (await client.get("/v1/programmes", params={"donor_id": other["id"]})).status_code == 403


async def test_lists_page_by_id_and_filter(desk: Desk) -> None:
    donor = await registered_donor(desk, kind="ngo", country="NO")
    ids = sorted([(await registered_programme(desk, donor["id"]))["id"] for _ in range(3)])
    async with desk.coordinator() as client:
        first = (await client.get("/v1/programmes", params={"donor_id": donor["id"], "limit": 2})).json()
        rest = await client.get(
            "/v1/programmes", params={"donor_id": donor["id"], "limit": 2, "cursor": first["next_cursor"]}
        )
        ngos = (await client.get("/v1/donors", params={"kind": "ngo", "country": "NO"})).json()["items"]
        bad_cursor = await client.get("/v1/programmes", params={"cursor": "!!"})
        unknown = await client.get("/v1/donors", params={"kidn": "ngo"})
        no_country = await client.get("/v1/donors", params={"country": "\x1f\u00de"})  # found by the fuzz
    assert [p["id"] for p in first["items"]] + [p["id"] for p in rest.json()["items"]] == ids
    assert rest.json()["next_cursor"] is None
    assert donor["id"] in {d["id"] for d in ngos}
    assert all(d["kind"] == "ngo" for d in ngos)
    assert fields(bad_cursor) == ["query.cursor"]
    assert fields(unknown) == ["query.kidn"]
    assert fields(no_country) == ["query.country"]
    assert "ISO 3166-1" in no_country.text


async def test_patching_a_donor_publishes_donor_updated_with_what_changed(desk: Desk) -> None:
    donor = await registered_donor(desk)
    async with admin(desk) as client:
        changed = await client.patch(f"/v1/donors/{donor['id']}", json={"name_en": "JICA", "country": "JP"})
        null = await client.patch(f"/v1/donors/{donor['id']}", json={"name_uk": None})
        empty = await client.patch(f"/v1/donors/{donor['id']}", json={})
        missing = await client.patch("/v1/donors/no-such-donor", json={"name_en": "X"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name_en"] == "JICA"
    assert changed.json()["name_uk"] == donor["name_uk"]
    assert fields(null) == ["body.name_uk"]
    assert fields(empty) == ["body"]
    assert missing.status_code == 404
    events = await desk.published(donor["id"])
    assert [name for name, _ in events] == ["donor.registered", "donor.updated"]
    assert events[1][1]["changed"] == ["name_en"]  # the country was already JP
    assert events[1][1]["name_en"] == "JICA"


async def test_programmes_are_validated_registered_and_updated_with_events(desk: Desk) -> None:
    donor = await registered_donor(desk)
    programme_id = new_id("prog")
    async with admin(desk) as client:
        unknown_donor = await client.post(
            "/v1/programmes", json=programme_body(programme_id, "no-such-donor")
        )
        reversed_period = await client.post(
            "/v1/programmes",
            json=programme_body(
                programme_id, donor["id"], period={"start": "2026-01-01", "end": "2025-01-01"}
            ),
        )
        yen_cents = await client.post(
            "/v1/programmes",
            json=programme_body(programme_id, donor["id"], budget={"currency": "JPY", "amount": "10.5"}),
        )
        assert (await client.get(f"/v1/programmes/{programme_id}")).status_code == 404  # nothing written
        created = await client.post("/v1/programmes", json=programme_body(programme_id, donor["id"]))
        patched = await client.patch(
            f"/v1/programmes/{programme_id}",
            json={"budget": {"currency": "USD", "amount": "45000000.5"}, "implementing_partner": None},
        )
    assert fields(unknown_donor) == ["body.donor_id"]
    assert fields(reversed_period) == ["body.period.end"]
    assert fields(yen_cents) == ["body.budget.amount"]
    assert created.status_code == 201, created.text
    assert created.json()["budget"] == {"currency": "USD", "amount": "42500000.00"}
    assert created.json()["period"] == {"start": "2024-03-01", "end": "2026-12-31"}
    assert patched.json()["budget"] == {"currency": "USD", "amount": "45000000.50"}
    assert patched.json()["implementing_partner"] is None
    events = await desk.published(programme_id)
    assert [name for name, _ in events] == ["programme.registered", "programme.updated"]
    registered, updated = events[0][1], events[1][1]
    assert registered["donor_id"] == donor["id"]
    assert registered["donor_name_en"] == donor["name_en"]
    assert registered["donor_name_uk"] == donor["name_uk"]
    assert registered["budget"] == {"currency": "USD", "amount": "42500000"}
    assert updated["changed"] == ["budget", "implementing_partner"]


async def test_a_lot_names_a_programme_of_its_own_donor_and_a_unit_value(desk: Desk) -> None:
    ns = desk.namespace()
    donor, other = await registered_donor(desk), await registered_donor(desk)
    programme = await registered_programme(desk, donor["id"])
    theirs = await registered_programme(desk, other["id"])
    body = lot_body(category=ns.category, specs=ns.lot_specs, eligible_regions=[ns.region])
    cases = {
        "unknown programme": ({"programme_id": "no-such-programme"}, "body.programme_id"),
        "another donor's programme": ({"programme_id": theirs["id"]}, "body.programme_id"),
        "value without currency": ({"unit_value": 12500}, "body.currency"),
        "currency without value": ({"currency": "USD"}, "body.unit_value"),
        "unknown currency": ({"unit_value": 1, "currency": "usd"}, "body.currency"),
        "too many decimals": ({"unit_value": "1.5", "currency": "JPY"}, "body.unit_value"),
    }
    async with desk.donor(donor["id"]) as client:
        for case, (extra, field) in cases.items():
            assert fields(await client.post("/v1/lots", json={**body, **extra})) == [field], case
        assert (await client.get("/v1/lots")).json()["items"] == []  # nothing was written
        created = await client.post(
            "/v1/lots",
            json={**body, "programme_id": programme["id"], "unit_value": "12500.5", "currency": "USD"},
        )
    assert created.status_code == 201, created.text
    lot = created.json()
    assert (lot["programme_id"], lot["unit_value"], lot["currency"]) == (programme["id"], "12500.50", "USD")
    assert (await desk.lot(lot["id"]))["unit_value"] == "12500.50"
    [(name, data)] = await desk.published(lot["id"])
    assert name == "inventory.registered"
    assert (data["programme_id"], data["unit_value"], data["currency"]) == (programme["id"], "12500.5", "USD")


async def test_allocation_events_carry_the_registered_donor_names(desk: Desk) -> None:
    ns = desk.namespace()
    donor = await registered_donor(desk, name_en="UNDP Ukraine", name_uk="ПРООН в Україні", kind="agency")
    await desk.register_lot(ns, donor_id=donor["id"])
    request = await desk.file_request(ns)
    proposal = await desk.proposal_for(request)
    assert proposal["donor_id"] == donor["id"]
    async with desk.coordinator() as coordinator:
        approved = await coordinator.post(f"/v1/allocations/{proposal['id']}/approve")
    assert approved.status_code == 200, approved.text
    events = dict(await desk.published(request["id"]))
    for name in ("allocation.proposed", "allocation.approved"):
        assert events[name]["donor_id"] == donor["id"]
        assert (events[name]["donor_name_en"], events[name]["donor_name_uk"]) == (
            "UNDP Ukraine",
            "ПРООН в Україні",
        )


async def test_allocation_events_of_an_unregistered_donor_carry_no_names(desk: Desk) -> None:
    ns = desk.namespace()
    await desk.register_lot(ns, donor_id=new_id("unregistered"))
    request = await desk.file_request(ns)
    await desk.proposal_for(request)
    proposed = dict(await desk.published(request["id"]))["allocation.proposed"]
    assert proposed["donor_name_en"] is None
    assert proposed["donor_name_uk"] is None


async def test_registry_ids_take_64_characters_and_refuse_65(desk: Desk) -> None:
    donor_id, programme_id = new_id("d").ljust(64, "x"), new_id("p").ljust(64, "y")
    async with admin(desk) as client:
        too_long = await client.post("/v1/donors", json=donor_body(donor_id + "x"))
        donor = await client.post("/v1/donors", json=donor_body(donor_id))
        programme = await client.post("/v1/programmes", json=programme_body(programme_id, donor_id))
        programme_too_long = await client.post(
            "/v1/programmes", json=programme_body(programme_id + "y", donor_id)
        )
        read = await client.get(f"/v1/programmes/{programme_id}")
    assert fields(too_long) == ["body.id"]
    assert fields(programme_too_long) == ["body.id"]
    assert donor.status_code == 201, donor.text
    assert programme.status_code == 201, programme.text
    assert read.json()["donor_id"] == donor_id


async def test_concurrent_registrations_of_one_id_create_one_donor_and_the_rest_are_409(desk: Desk) -> None:
    body = donor_body(new_id("race"))
    async with admin(desk) as client:
        responses = await asyncio.gather(*(client.post("/v1/donors", json=body) for _ in range(5)))
    assert sorted(response.status_code for response in responses) == [201, 409, 409, 409, 409]
    assert [name for name, _ in await desk.published(body["id"])] == ["donor.registered"]
