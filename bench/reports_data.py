"""A year of the reports' read model, generated and inserted in bulk: requests, allocations, lots, donors.

The rows are what the ``allocation-reports`` projection would leave after a year of events (every region,
every category, several donors and programmes, allocations at every stage), written straight into the
tables the service's migrations create, in chunks of executemany, never through events.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from services.allocation.models import Donor, Programme
from services.allocation.reports.projection import ALLOCATIONS, LOTS, REQUESTS
from shared.catalog import all_categories
from shared.db import Database
from shared.geography import all_regions

YEAR = timedelta(days=365)
CHUNK = 5_000
PRIORITIES = ("critical", "high", "medium", "low")
# id, English name, kind, country, currency, programmes
DONORS: tuple[tuple[str, str, str, str, str, tuple[str, ...]], ...] = (
    ("jica", "Japan International Cooperation Agency", "agency", "JP", "JPY", ("jica-er-1", "jica-er-2")),
    ("undp", "United Nations Development Programme", "agency", "US", "USD", ("undp-energy", "undp-heat")),
    ("usaid", "USAID", "government", "US", "USD", ("usaid-power",)),
    ("eu-echo", "EU Civil Protection and Humanitarian Aid", "government", "BE", "EUR", ("echo-winter",)),
    ("giz", "Deutsche Gesellschaft für Internationale Zusammenarbeit", "agency", "DE", "EUR", ("giz-water",)),
    ("fcdo", "UK Foreign, Commonwealth & Development Office", "government", "GB", "GBP", ("fcdo-grid",)),
    ("sdc", "Swiss Agency for Development and Cooperation", "agency", "CH", "CHF", ()),
    ("direct-relief", "Direct Relief", "ngo", "US", "USD", ()),
)
# Outcome of an allocation and how often it happens; the times of its stages follow in ``_allocation``.
OUTCOMES = (
    ("delivered", 50),
    ("dispatched", 7),
    ("approved", 7),
    ("proposed", 6),
    ("rejected", 10),
    ("expired", 10),
    ("released", 10),
)
STAGE_TIMES = ("approved_at", "rejected_at", "expired_at", "released_at", "dispatched_at", "delivered_at")


@dataclass(frozen=True)
class Shape:
    """How much to generate: allocations and lots follow the number of requests."""

    requests: int
    lots_per_request: float = 0.12
    seed: int = 18

    @property
    def lots(self) -> int:
        """Lots registered over the year (about one per eight requests)."""
        return max(len(DONORS), round(self.requests * self.lots_per_request))


@dataclass(frozen=True)
class Counts:
    """Rows written to each table."""

    requests: int
    allocations: int
    lots: int
    donors: int
    programmes: int


@dataclass(frozen=True)
class _Lot:
    lot_id: uuid.UUID
    donor_id: str
    registered_at: datetime


async def fill(db: Database, shape: Shape, *, now: datetime) -> Counts:
    """Generate the year before ``now`` and insert it; the tables must exist (the migrations ran)."""
    rng = random.Random(shape.seed)  # noqa: S311 (reproducible figures, not secrets)
    counts = {"requests": 0, "allocations": 0, "lots": 0}
    async with db.session() as session, session.begin():
        await session.execute(sa.insert(Donor.__table__), list(_donors(now)))  # type: ignore[attr-defined]
        await session.execute(
            sa.insert(Programme.__table__),  # type: ignore[attr-defined]
            list(_programmes(now)),
        )
    lots: dict[str, list[_Lot]] = {category.name: [] for category in all_categories()}
    regions = _regions(rng)
    lot_rows = [_lot(rng, n, now, next(regions), lots) for n in range(shape.lots)]
    for start in range(0, len(lot_rows), CHUNK):
        await _insert(db, LOTS, lot_rows[start : start + CHUNK])
    counts["lots"] = len(lot_rows)
    for requests, allocations in _requests_and_allocations(rng, shape.requests, now, lots):
        await _insert(db, REQUESTS, requests)
        await _insert(db, ALLOCATIONS, allocations)
        counts["requests"] += len(requests)
        counts["allocations"] += len(allocations)
    programmes = sum(len(donor[5]) for donor in DONORS)
    return Counts(counts["requests"], counts["allocations"], counts["lots"], len(DONORS), programmes)


async def _insert(db: Database, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        async with db.session() as session, session.begin():
            await session.execute(sa.insert(table), rows)


def _donors(now: datetime) -> Iterator[dict[str, Any]]:
    for donor_id, name, kind, country, _currency, _programmes in DONORS:
        yield {
            "id": donor_id,
            "name_en": name,
            "name_uk": f"{name} (укр.)",
            "kind": kind,
            "country": country,
            "contact_emails": [],
            "created_by": "bench",
            "created_at": now - YEAR,
            "updated_at": now - YEAR,
        }


def _programmes(now: datetime) -> Iterator[dict[str, Any]]:
    for donor_id, _name, _kind, _country, currency, programmes in DONORS:
        for programme_id in programmes:
            yield {
                "id": programme_id,
                "donor_id": donor_id,
                "name_en": f"Programme {programme_id}",
                "name_uk": f"Програма {programme_id}",
                "starts_on": (now - YEAR).date(),
                "ends_on": (now + YEAR).date(),
                "budget_amount": Decimal(10_000_000),
                "budget_currency": currency,
                "implementing_partner": None,
                "created_by": "bench",
                "created_at": now - YEAR,
                "updated_at": now - YEAR,
            }


def _regions(rng: random.Random) -> Iterator[str]:
    regions = all_regions()
    # Front-line regions ask for three times as much as the others.
    weights = [3 if region.front_line else 1 for region in regions]
    codes = [region.code for region in regions]
    while True:
        yield from rng.choices(codes, weights, k=1000)


def _lot(
    rng: random.Random, n: int, now: datetime, region: str, lots: dict[str, list[_Lot]]
) -> dict[str, Any]:
    donor_id, _name, _kind, _country, currency, programmes = DONORS[n % len(DONORS)]
    category = rng.choice(list(lots))
    registered = now - YEAR * rng.random()
    changed = min(now, registered + timedelta(days=rng.expovariate(1 / 20)))
    lot_id = uuid.uuid4()
    lots[category].append(_Lot(lot_id, donor_id, registered))
    valued = rng.random() < 0.85
    return {
        "lot_id": lot_id,
        "donor_id": donor_id,
        "programme_id": rng.choice(programmes) if programmes else None,
        "category": category,
        "region": region,
        "site": f"Warehouse {n % 97}",
        "quantity": rng.randint(5, 200),
        "quantity_at": changed,
        "unit_value": Decimal(rng.randint(500, 400_000)) if valued else None,
        "currency": currency if valued else None,
        "registered_at": registered,
        "withdrawn_at": changed if rng.random() < 0.03 else None,
        "changed_at": changed,
    }


def _requests_and_allocations(
    rng: random.Random, count: int, now: datetime, lots: dict[str, list[_Lot]]
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Chunks of request rows with their allocations' rows (a chunk at a time keeps memory flat)."""
    regions = _regions(rng)
    categories = list(lots)  # every category has lots: the shape has at least one lot per category
    for start in range(0, count, CHUNK):
        requests: list[dict[str, Any]] = []
        allocations: list[dict[str, Any]] = []
        for n in range(start, min(count, start + CHUNK)):
            request = _request(rng, n, now, next(regions), rng.choice(categories))
            requests.append(request)
            for _ in range(rng.choices((0, 1, 2, 3), (40, 50, 8, 2))[0]):
                allocation = _allocation(rng, request, rng.choice(lots[request["category"]]), now)
                if allocation is not None:
                    allocations.append(allocation)
        yield requests, allocations


def _request(rng: random.Random, n: int, now: datetime, region: str, category: str) -> dict[str, Any]:
    submitted = now - YEAR * rng.random()
    waitlisted = submitted + timedelta(hours=rng.expovariate(1 / 6)) if rng.random() < 0.3 else None
    ended = rng.choices((None, "cancelled", "closed"), (86, 4, 10))[0]
    priority = rng.choices(PRIORITIES, (1, 3, 4, 2))[0]
    return {
        "request_id": uuid.uuid4(),
        "ref": f"{region.replace('-', '')}-2026-{n:06d}",
        "region": region,
        "category": category,
        "settlement": f"Settlement {n % 1500}",
        "facility_name": f"Facility {n % 4000}",
        "facility_kind": rng.choice(("hospital", "water_utility", "school", "heating_plant")),
        "quantity": rng.choice((1, 1, 1, 2, 2, 3, 4, 5, 8, 10, 20)),
        "submitted_at": submitted,
        "priority": priority,
        "priority_at": submitted,
        "status": "closed" if ended == "closed" else ("cancelled" if ended else "waitlisted"),
        "status_at": submitted,
        "waitlisted_at": waitlisted if waitlisted and waitlisted < now else None,
        "ended_as": ended,
        "ended_at": now if ended else None,
    }


def _allocation(
    rng: random.Random, request: dict[str, Any], lot: _Lot, now: datetime
) -> dict[str, Any] | None:
    """An allocation of the request from the lot, at the stage its outcome and the clock allow."""
    proposed = max(request["submitted_at"], lot.registered_at) + timedelta(hours=rng.expovariate(1 / 30))
    if proposed >= now:
        return None
    quantity = rng.randint(1, request["quantity"])
    outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
    times: dict[str, datetime | None] = dict.fromkeys(STAGE_TIMES)  # executemany: every row has every key
    times["proposed_at"] = proposed
    at = proposed
    if outcome in ("rejected", "expired"):
        times[f"{outcome}_at"] = proposed + (
            timedelta(hours=rng.expovariate(1 / 12)) if outcome == "rejected" else timedelta(hours=48)
        )
    elif outcome != "proposed":
        for stage, mean_hours in (("approved", 12), ("dispatched", 48), ("delivered", 72)):
            at = at + timedelta(hours=rng.expovariate(1 / mean_hours))
            times[f"{stage}_at"] = at
            if stage == outcome or (outcome == "released" and stage == "approved"):
                break
        if outcome == "released":
            times["released_at"] = at + timedelta(hours=rng.expovariate(1 / 24))
    times = {key: value if value is not None and value < now else None for key, value in times.items()}
    times["expires_at"] = proposed + timedelta(hours=48)
    delivered = times.get("delivered_at") is not None
    rejected = rng.randint(0, 1) if delivered and quantity > 1 and rng.random() < 0.1 else 0
    return {
        "allocation_id": uuid.uuid4(),
        "request_id": request["request_id"],
        "lot_id": lot.lot_id,
        "donor_id": lot.donor_id,
        "region": request["region"],
        "category": request["category"],
        "settlement": request["settlement"],
        "facility_name": request["facility_name"],
        "quantity": quantity,
        **times,
        "received_quantity": quantity - rejected if delivered else None,
        "rejected_quantity": rejected if delivered else None,
    }
