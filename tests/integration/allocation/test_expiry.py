"""Proposal expiry in the running service: a 1-second TTL set through the environment, no sleeping.

The sweep's clock is injected in ``test_use_cases``; here the service's own job runs it on the real clock,
and the test polls for the outcome.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import Infra
from tests.factories import lot_body, request_submitted
from tests.integration.allocation.events import publish
from tests.support.polling import eventually
from tests.support.stack import ServiceStack, make_stack


@pytest.fixture(scope="module")
async def short_ttl(infra: Infra) -> AsyncIterator[ServiceStack]:
    stack = await make_stack(
        broker=infra.broker,
        database=infra.database,
        tmp_dir=infra.tmp_dir,
        names=("allocation",),
        PROPOSAL_TTL_S="1",
        PROPOSAL_EXPIRY_INTERVAL_S="0.2",
    )
    try:
        yield stack
    finally:
        stack.stop()


async def test_unapproved_proposal_expires_and_its_unit_goes_to_the_next_in_line(
    short_ttl: ServiceStack,
) -> None:
    async with short_ttl.client("allocation", "coordinator") as coordinator:
        lot = (await coordinator.post("/v1/lots", json=lot_body(donor_id="jica", quantity=1))).json()
        slow = request_submitted(specs={"power_kw": 250}, quantity=1, priority="low")
        await publish(short_ttl, slow)

        async def allocations(request_id: Any) -> list[dict[str, Any]]:
            page = await coordinator.get("/v1/allocations", params={"request_id": str(request_id)})
            return list(page.json()["items"])

        await eventually(lambda: allocations(slow.request_id), what="a proposal for the low-priority request")
        urgent = request_submitted(specs={"power_kw": 250}, quantity=1, priority="critical")
        await publish(short_ttl, urgent)

        handed_over = await eventually(
            lambda: allocations(urgent.request_id),
            timeout_s=60,
            what="the expired unit handed to the urgent request",
        )
        assert {a["lot_id"] for a in handed_over} == {lot["id"]}
        slow_ones = await allocations(slow.request_id)
        assert "expired" in {a["status"] for a in slow_ones}
        assert all(a["expired_at"] is not None for a in slow_ones if a["status"] == "expired")
        approve = await coordinator.post(f"/v1/allocations/{slow_ones[-1]['id']}/approve")
        assert approve.status_code == 409
        assert approve.json()["current_status"] == "expired"
