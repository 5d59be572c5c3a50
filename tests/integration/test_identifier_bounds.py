"""``donor_id`` has one bound everywhere (§14.8): 64 characters flow end to end, 65 are refused at the API."""

from __future__ import annotations

import uuid

import httpx
import pytest

from shared.auth import mint_token
from tests.factories import lot_body, request_body
from tests.support.polling import eventually
from tests.support.stack import ServiceStack

BOILER = {"category": "boiler", "specs": {"power_kw": 98_765, "fuel": "biomass"}}


def donor_id(length: int) -> str:
    tag = uuid.uuid4().hex[:8]
    return f"{tag}-" + "d" * (length - len(tag) - 1)


def donor_client(stack: ServiceStack, service: str, donor: str) -> httpx.AsyncClient:
    token = mint_token(secret=stack.secret, sub=f"desk-{donor[:8]}", role="donor", donor_id=donor)
    return httpx.AsyncClient(
        base_url=stack.url(service),  # type: ignore[arg-type]
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


async def test_a_64_character_donor_id_flows_from_lot_to_allocation_to_the_donors_inbox(
    stack: ServiceStack,
) -> None:
    donor = donor_id(64)
    assert len(donor) == 64
    async with (
        donor_client(stack, "allocation", donor) as allocation,
        donor_client(stack, "notifications", donor) as inbox,
        stack.client("requests", "kharkiv") as requests,
    ):
        lot = await allocation.post("/v1/lots", json=lot_body(**BOILER, quantity=1))
        assert lot.status_code == 201, lot.text
        assert lot.json()["donor_id"] == donor
        wanted = request_body(category="boiler", specs={"power_kw": 98_000}, quantity=1)
        assert (await requests.post("/v1/requests", json=wanted)).status_code == 201

        async def allocations() -> list[dict]:
            return (await allocation.get("/v1/allocations", params={"donor_id": donor})).json()["items"]

        [proposed] = await eventually(allocations, timeout_s=60, what="allocation of the donor's lot")
        assert proposed["donor_id"] == donor

        async def notices() -> list[dict]:
            return (await inbox.get("/v1/notifications")).json()["items"]

        [notice, *_] = await eventually(notices, timeout_s=60, what="the donor's notice")
        assert notice["audience"] == f"donor:{donor}"


@pytest.mark.parametrize("bad", [donor_id(65), "JICA", "jica_2", ""])
async def test_a_donor_id_too_long_or_outside_a_z_0_9_dash_is_refused(stack: ServiceStack, bad: str) -> None:
    async with stack.client("allocation", "coordinator") as coordinator:
        created = await coordinator.post("/v1/lots", json=lot_body(donor_id=bad))
        assert created.status_code == 422, created.text
        assert [e["field"] for e in created.json()["errors"]] == ["body.donor_id"]
        listed = await coordinator.get("/v1/lots", params={"donor_id": bad})
        assert listed.status_code == 422
        assert [e["field"] for e in listed.json()["errors"]] == ["query.donor_id"]
    if bad:
        async with donor_client(stack, "allocation", bad) as donor:
            refused = await donor.get("/v1/lots")
        assert refused.status_code == 401
        assert "donor_id" in refused.json()["detail"]
