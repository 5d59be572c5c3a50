"""What the allocation integration tests do through the public APIs, with private data per test.

Every test works in its own namespace — a (region, category) pair: its lots are earmarked for that
region alone and its requests come from that region, so no test's stock can serve another's demand.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sqlmodel import col, select

from services.allocation.models import Demand
from shared.auth import Role, mint_token
from shared.catalog import all_categories
from shared.db import Database
from shared.geography import all_regions
from shared.outbox import OutboxRecord
from tests.factories import catalog_lot_specs, catalog_request_specs, lot_body, request_body
from tests.support.polling import eventually
from tests.support.stack import ServiceStack

T = TypeVar("T")


@dataclass(frozen=True)
class Namespace:
    """A region and a category that belong to one test."""

    region: str
    category: str

    @property
    def lot_specs(self) -> dict[str, Any]:
        """A valid lot of the category (derived from the catalog)."""
        return dict(catalog_lot_specs(self.category))

    @property
    def request_specs(self) -> dict[str, Any]:
        """A valid request of the category that ``lot_specs`` satisfies."""
        return dict(catalog_request_specs(self.category))


def _namespaces() -> Iterator[Namespace]:
    categories = [category.name for category in all_categories()]
    for category, region in itertools.product(categories, [r.code for r in all_regions()]):
        yield Namespace(region, category)


class Desk:
    """The test's hands on a running stack: tokens, lots, requests, allocations, published events."""

    def __init__(self, stack: ServiceStack) -> None:
        self.stack = stack
        self._namespaces = _namespaces()

    def namespace(self) -> Namespace:
        """A (region, category) no other test of this stack uses."""
        return next(self._namespaces)

    def token(self, role: Role, *, region: str | None = None, donor_id: str | None = None) -> str:
        sub = f"{role}:{region or donor_id or 'desk'}"
        return mint_token(secret=self.stack.secret, sub=sub, role=role, region=region, donor_id=donor_id)

    def client(
        self, service: str, role: Role, *, region: str | None = None, donor_id: str | None = None
    ) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.stack.url(service),  # type: ignore[arg-type]
            headers={"Authorization": f"Bearer {self.token(role, region=region, donor_id=donor_id)}"},
            timeout=httpx.Timeout(30.0),
        )

    def coordinator(self, service: str = "allocation") -> httpx.AsyncClient:
        return self.client(service, "coordinator")

    def donor(self, donor_id: str = "jica") -> httpx.AsyncClient:
        return self.client("allocation", "donor", donor_id=donor_id)

    def region_admin(self, region: str, service: str = "allocation") -> httpx.AsyncClient:
        return self.client(service, "region_admin", region=region)

    async def register_lot(
        self,
        ns: Namespace,
        *,
        donor_id: str = "jica",
        quantity: int = 1,
        site_region: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A lot of the namespace's category, earmarked for its region, registered by the donor itself."""
        body = lot_body(
            category=ns.category,
            specs=ns.lot_specs,
            quantity=quantity,
            location={"region": site_region or ns.region, "site": f"warehouse {uuid.uuid4().hex[:6]}"},
            eligible_regions=[ns.region],
            **extra,
        )
        async with self.donor(donor_id) as donor:
            response = await donor.post("/v1/lots", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def file_request(self, ns: Namespace, *, quantity: int = 1, **extra: Any) -> dict[str, Any]:
        """A request from the namespace's region for its category, filed by a coordinator."""
        body = request_body(region=ns.region, category=ns.category, specs=ns.request_specs, quantity=quantity)
        body.update(extra)
        async with self.coordinator("requests") as requests:
            response = await requests.post("/v1/requests", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def allocations(self, **filters: Any) -> list[dict[str, Any]]:
        """Allocations as a coordinator sees them, oldest first."""
        params = {key: str(value) for key, value in filters.items()}
        async with self.coordinator() as client:
            response = await client.get("/v1/allocations", params={"limit": 200, **params})
        assert response.status_code == 200, response.text
        return list(reversed(response.json()["items"]))

    async def wait_allocations(
        self, until: Callable[[list[dict[str, Any]]], bool], *, what: str, **filters: Any
    ) -> list[dict[str, Any]]:
        return await eventually(lambda: self.allocations(**filters), until=until, what=what, timeout_s=60)

    async def proposal_for(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request's (first) proposal, once matching has made it."""
        found = await self.wait_allocations(
            lambda items: any(a["status"] == "proposed" for a in items),
            what=f"a proposal for {request['ref']}",
            request_id=request["id"],
        )
        return next(a for a in found if a["status"] == "proposed")

    async def lot(self, lot_id: str) -> dict[str, Any]:
        async with self.coordinator() as client:
            response = await client.get(f"/v1/lots/{lot_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def request(self, request_id: str) -> dict[str, Any]:
        async with self.coordinator("requests") as client:
            response = await client.get(f"/v1/requests/{request_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_request(
        self, request_id: str, until: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        return await eventually(lambda: self.request(request_id), until=until, what=what, timeout_s=60)

    async def published(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        """The allocation service's events keyed by this request or lot id, in publishing order."""
        db = Database(self.stack.database_url("allocation"))
        try:
            async with db.session() as session:
                rows = await session.exec(
                    select(OutboxRecord).where(col(OutboxRecord.key) == key).order_by(col(OutboxRecord.id))
                )
                return [(_name(row.event_type), _data(row.payload)) for row in rows.all()]
        finally:
            await db.dispose()

    async def demand(self, request_id: str) -> dict[str, Any]:
        """The allocation service's own record of a request (its database, read directly)."""
        db = Database(self.stack.database_url("allocation"))
        try:
            async with db.session() as session:
                demand = await session.get(Demand, uuid.UUID(request_id))
                return {} if demand is None else demand.model_dump(mode="json")
        finally:
            await db.dispose()

    async def wait_until(self, probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], what: str) -> T:
        return await eventually(probe, until=until, what=what, timeout_s=60)


def _name(event_type: str) -> str:
    """``vidnova.allocation.proposed.v1`` → ``allocation.proposed``."""
    return event_type.removeprefix("vidnova.").rsplit(".", 1)[0]


def _data(payload: str) -> dict[str, Any]:
    return dict(json.loads(payload)["data"])
