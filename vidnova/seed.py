"""`vidnova seed`: the demo scenario, loaded through the public HTTP APIs; running it again creates nothing.

An admin registers the donors (JICA, UNDP and a private company) and their programmes (illustrative
periods and budgets); the donors register gas turbines, autotransformers, cogeneration units,
generators, pumps and machinery; regional administrations of Kharkiv, Kherson, Mykolaiv, Odesa, Kyiv,
Sumy, Chernihiv and Zaporizhzhia file requests. Every item carries its own ``Idempotency-Key`` under a
stable caller, so a second run gets the original responses back. Then one proposal is walked through
approval, dispatch and delivery, so that every stage and notice can be seen. The data is
``vidnova/data/demo_scenario.json``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.resources import files
from typing import Any

import httpx

from shared.auth import Role, mint_token

KEY_REUSED = "Idempotency key reused"


@dataclass(frozen=True)
class Scenario:
    """The demo data (``vidnova/data/demo_scenario.json``): donors with their programmes, lots, requests,
    and which request to walk."""

    donors: list[dict[str, Any]]
    lots: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    walk: str

    @classmethod
    def load(cls) -> Scenario:
        """Read the scenario shipped with the package."""
        text = (files("vidnova") / "data" / "demo_scenario.json").read_text(encoding="utf-8")
        document = json.loads(text)
        return cls(
            donors=document["donors"],
            lots=document["lots"],
            requests=document["requests"],
            walk=document["walk"],
        )

    def donor_body(self, donor: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/donors`` body of a donor."""
        return {name: value for name, value in donor.items() if name != "programmes"}

    def programme_bodies(self) -> list[dict[str, Any]]:
        """``POST /v1/programmes`` bodies of every donor's programmes."""
        return [
            {**programme, "donor_id": donor["id"]}
            for donor in self.donors
            for programme in donor["programmes"]
        ]

    def lot_body(self, lot: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/lots`` body of a lot (its donor registers it; no dates, so the body never changes)."""
        return {name: value for name, value in lot.items() if name not in ("key", "donor_id")}

    def request_body(self, request: dict[str, Any], today: date) -> dict[str, Any]:
        """``POST /v1/requests`` body of a request, needed some weeks from today."""
        body = {name: value for name, value in request.items() if name not in ("key", "needed_in_weeks")}
        return {**body, "needed_by": (today + timedelta(weeks=request["needed_in_weeks"])).isoformat()}


@dataclass
class SeedReport:
    """What a seed run did."""

    donors: Counter[str] = field(default_factory=Counter)  # created | existing
    programmes: Counter[str] = field(default_factory=Counter)
    lots: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    walked: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the banner."""
        return (
            f"{sum(self.donors.values())} donors, {sum(self.programmes.values())} programmes, "
            f"{sum(self.lots.values())} lots ({self.lots['created']} new), "
            f"{sum(self.requests.values())} requests ({self.requests['created']} new)"
            + (f"; one allocation walked: {' → '.join(self.walked)}" if self.walked else "")
        )


class Seeder:
    """Talks to the running services as the demo's donors, regions and coordinator."""

    def __init__(
        self, *, requests_url: str, allocation_url: str, secret: str, timeout_s: float = 30.0
    ) -> None:
        self.urls = {"requests": requests_url.rstrip("/"), "allocation": allocation_url.rstrip("/")}
        self.secret = secret
        self.http = httpx.AsyncClient(timeout=timeout_s)

    def headers(
        self, role: Role, *, region: str | None = None, donor_id: str | None = None
    ) -> dict[str, str]:
        # A stable subject per caller: idempotency keys are scoped to it.
        sub = f"seed:{region or donor_id or role}"
        token = mint_token(secret=self.secret, sub=sub, role=role, region=region, donor_id=donor_id)
        return {"Authorization": f"Bearer {token}"}

    async def post_once(self, service: str, path: str, body: dict[str, Any], *, key: str, **who: Any) -> str:
        """POST with an Idempotency-Key; 'created', or 'existing' if an earlier run already did it."""
        headers = {**self.headers(**who), "Idempotency-Key": f"vidnova-seed-{key}"}
        response = await self.http.post(f"{self.urls[service]}{path}", json=body, headers=headers)
        if response.status_code == 201:
            return "existing" if response.headers.get("Idempotent-Replayed") else "created"
        if response.status_code == 409 and response.json().get("title") == KEY_REUSED:
            return (
                "existing"  # loaded on an earlier day: relative dates (needed_by) differ, nothing is created
            )
        raise SeedError(f"POST {path} ({key}) → {response.status_code}: {response.text[:500]}")

    async def close(self) -> None:
        await self.http.aclose()


class SeedError(RuntimeError):
    """A service refused part of the demo scenario."""


async def seed(
    *, requests_url: str, allocation_url: str, secret: str, walk_timeout_s: float = 30.0
) -> SeedReport:
    """Load the demo scenario; safe to run any number of times."""
    scenario = Scenario.load()
    seeder = Seeder(requests_url=requests_url, allocation_url=allocation_url, secret=secret)
    report = SeedReport()
    try:
        for donor in scenario.donors:
            body = scenario.donor_body(donor)
            outcome = await seeder.post_once(
                "allocation", "/v1/donors", body, key=f"donor-{donor['id']}", role="admin"
            )
            report.donors[outcome] += 1
        for programme in scenario.programme_bodies():
            outcome = await seeder.post_once(
                "allocation", "/v1/programmes", programme, key=f"programme-{programme['id']}", role="admin"
            )
            report.programmes[outcome] += 1
        for lot in scenario.lots:
            outcome = await seeder.post_once(
                "allocation",
                "/v1/lots",
                scenario.lot_body(lot),
                key=f"lot-{lot['key']}",
                role="donor",
                donor_id=lot["donor_id"],
            )
            report.lots[outcome] += 1
        for request in scenario.requests:
            outcome = await seeder.post_once(
                "requests",
                "/v1/requests",
                scenario.request_body(request, date.today()),
                key=f"request-{request['key']}",
                role="region_admin",
                region=request["region"],
            )
            report.requests[outcome] += 1
        walked = next(r for r in scenario.requests if r["key"] == scenario.walk)
        report.walked = await walk(seeder, walked, timeout_s=walk_timeout_s)
    finally:
        await seeder.close()
    return report


async def walk(seeder: Seeder, request: dict[str, Any], *, timeout_s: float) -> list[str]:
    """Take the request's first allocation as far as delivery, from wherever it stands."""
    allocation = await _first_allocation(seeder, request, timeout_s=timeout_s)
    if allocation is None:
        return []
    steps = []
    path = f"{seeder.urls['allocation']}/v1/allocations/{allocation['id']}"
    if allocation["status"] == "proposed":
        _ok(await seeder.http.post(f"{path}/approve", headers=seeder.headers("coordinator")))
        allocation["status"] = "approved"
        steps.append("approved")
    if allocation["status"] == "approved":
        shipment = {"waybill": "NP-20451190", "carrier": "Нова пошта Вантажна", "serials": []}
        donor = seeder.headers("donor", donor_id=allocation["donor_id"])
        _ok(await seeder.http.post(f"{path}/dispatch", json=shipment, headers=donor))
        allocation["status"] = "dispatched"
        steps.append("dispatched")
    if allocation["status"] == "dispatched":
        receipt = {"received_quantity": allocation["quantity"], "note": "Installed in the surgical block"}
        region = seeder.headers("region_admin", region=request["region"])
        _ok(await seeder.http.post(f"{path}/deliver", json=receipt, headers=region))
        steps.append("delivered")
    return steps


async def _first_allocation(
    seeder: Seeder, request: dict[str, Any], *, timeout_s: float
) -> dict[str, Any] | None:
    """The oldest allocation for the seeded request, once matching has made one (None after the deadline)."""
    coordinator = seeder.headers("coordinator")
    deadline = time.monotonic() + timeout_s
    while True:
        found = _ok(
            await seeder.http.get(
                f"{seeder.urls['requests']}/v1/requests",
                params={"region": request["region"], "category": request["category"], "limit": 200},
                headers=coordinator,
            )
        )
        mine = [r for r in found.json()["items"] if r["facility"] == request["facility"]]
        if mine:
            listed = _ok(
                await seeder.http.get(
                    f"{seeder.urls['allocation']}/v1/allocations",
                    params={"request_id": mine[-1]["id"], "limit": 200},
                    headers=coordinator,
                )
            )
            items = listed.json()["items"]
            if items:
                return dict(items[-1])
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.5)


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        request = response.request
        raise SeedError(f"{request.method} {request.url} → {response.status_code}: {response.text[:500]}")
    return response
