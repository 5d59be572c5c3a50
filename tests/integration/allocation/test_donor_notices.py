"""End to end: a registered donor's names reach the notices, each in the reader's language."""

from __future__ import annotations

import uuid
from typing import Any

from tests.factories import catalog_lot_specs, catalog_request_specs, lot_body, request_body
from tests.support.polling import eventually
from tests.support.stack import ServiceStack

REGION, CATEGORY = "UA-68", "cogeneration_unit"  # a (region, category) no other end-to-end test uses
NAMES = {
    "name_en": "Japan International Cooperation Agency",
    "name_uk": "Японське агентство міжнародного співробітництва",
}


async def test_the_coordinators_proposal_notice_names_the_donor_in_english_and_ukrainian(
    stack: ServiceStack,
) -> None:
    donor_id = f"jica-{uuid.uuid4().hex[:8]}"
    donor = {"id": donor_id, **NAMES, "kind": "government", "country": "JP"}
    lot = lot_body(
        donor_id=donor_id,
        category=CATEGORY,
        specs=dict(catalog_lot_specs(CATEGORY)),
        quantity=1,
        location={"region": REGION, "site": "Хмельницький, склад"},
        eligible_regions=[REGION],
    )
    wanted = request_body(
        region=REGION,
        settlement="Хмельницький",
        category=CATEGORY,
        specs=dict(catalog_request_specs(CATEGORY)),
    )
    async with (
        stack.client("allocation", "admin") as allocation,
        stack.client("requests", "coordinator") as requests,
        stack.client("notifications", "coordinator") as inbox,
    ):
        assert (await allocation.post("/v1/donors", json=donor)).status_code == 201
        assert (await allocation.post("/v1/lots", json=lot)).status_code == 201
        created = await requests.post("/v1/requests", json={**wanted, "quantity": 1})
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]

        async def proposal_notice(language: str) -> list[dict[str, Any]]:
            response = await inbox.get("/v1/notifications", headers={"Accept-Language": language})
            return [
                item
                for item in response.json()["items"]
                if item["subject_id"] == request_id and item["type"] == "vidnova.allocation.proposed.v1"
            ]

        [en] = await eventually(lambda: proposal_notice("en"), what="the proposal notice in English")
        [uk] = await eventually(lambda: proposal_notice("uk"), what="the proposal notice in Ukrainian")
    assert en["title"].endswith(f"from {NAMES['name_en']}")
    assert f"Stock from {NAMES['name_en']} can cover 1 unit" in en["body"]
    assert f"від донора {NAMES['name_uk']}" in uk["title"]
    assert f"Донор {NAMES['name_uk']} пропонує" in uk["body"]
    for item in (en, uk):
        assert donor_id not in item["title"] + item["body"]
