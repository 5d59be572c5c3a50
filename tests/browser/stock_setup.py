"""Requests and lots made through the services' APIs with tokens, for the stock pages' journeys."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from shared.auth import mint_token
from tests.browser.console import Console
from tests.factories import lot_body, request_body
from tests.support.polling import eventually

# Each journey works in its own region (lots eligible only there), so matching never mixes journeys.
_REGIONS = itertools.cycle(
    [
        "UA-05",
        "UA-07",
        "UA-12",
        "UA-14",
        "UA-18",
        "UA-21",
        "UA-23",
        "UA-26",
        "UA-35",
        "UA-46",
        "UA-48",
        "UA-53",
        "UA-56",
        "UA-59",
        "UA-61",
        "UA-65",
        "UA-68",
        "UA-71",
    ]
)
PASSWORD = "brisk-otter-4217"


def fresh_region() -> str:
    return next(_REGIONS)


def fresh_donor() -> str:
    return f"donor-{uuid.uuid4().hex[:8]}"


def _coordinator_headers(console: Console) -> dict[str, str]:
    token = mint_token(secret=console.stack.secret, sub="coord-setup", role="coordinator")
    return {"Authorization": f"Bearer {token}"}


async def file_request(console: Console, region: str, **overrides: Any) -> dict[str, Any]:
    """A request for one diesel generator in this region, filed by a coordinator."""
    body = request_body(region=region, quantity=1, specs={"power_kw": 100, "fuel": ["diesel"]}, **overrides)
    async with console.stack.client("requests") as client:
        response = await client.post("/v1/requests", json=body, headers=_coordinator_headers(console))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def register_lot(console: Console, donor_id: str, region: str, *, quantity: int = 1) -> dict[str, Any]:
    """A lot of diesel generators of this donor, eligible only for this region."""
    body = lot_body(donor_id=donor_id, quantity=quantity, eligible_regions=[region])
    async with console.stack.client("allocation") as client:
        response = await client.post("/v1/lots", json=body, headers=_coordinator_headers(console))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def allocations_of(
    console: Console, request_id: str, *, status: str | None = None, count: int = 1
) -> list[dict[str, Any]]:
    """The request's allocations (in this status), waiting until there are at least ``count``."""

    async def probe() -> list[dict[str, Any]]:
        params = {"request_id": request_id, **({"status": status} if status else {})}
        async with console.stack.client("allocation") as client:
            response = await client.get(
                "/v1/allocations", params=params, headers=_coordinator_headers(console)
            )
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    return await eventually(
        probe,
        until=lambda items: len(items) >= count,
        timeout_s=60,
        interval_s=0.2,
        what=f"{count} {status or ''} allocation(s) of {request_id}",
    )


async def approve(console: Console, allocation_id: str) -> None:
    async with console.stack.client("allocation") as client:
        response = await client.post(
            f"/v1/allocations/{allocation_id}/approve", headers=_coordinator_headers(console)
        )
    assert response.status_code == 200, response.text
