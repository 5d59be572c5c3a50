"""SPEC §7 rule 4: never over-allocate — two allocation instances, concurrent requests, redelivered events."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import col, func, select

from services.allocation.models import Allocation, Demand, Lot
from shared.db import Database
from shared.outbox import OutboxRecord, mark_for_replay
from tests.conftest import Infra
from tests.factories import lot_body, request_body
from tests.support.polling import eventually
from tests.support.stack import ServiceStack, make_stack
from vidnova.broker import free_port

REQUESTS = 50
UNITS = 5
SUBMITTED = "vidnova.request.submitted.v1"


class SecondInstance:
    """Another ``python -m services.allocation`` on its own port: same database, broker and group."""

    def __init__(self, stack: ServiceStack) -> None:
        self.port = free_port()
        self.log = (stack.log_dir / "allocation-2.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.allocation"],
            env={**stack.env, "ALLOCATION_PORT": str(self.port)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def wait_ready(self) -> None:
        async def ready() -> bool:
            assert self.process.poll() is None, f"second allocation instance exited {self.process.returncode}"
            try:
                async with httpx.AsyncClient(timeout=3) as client:
                    return (await client.get(f"{self.url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, timeout_s=90, interval_s=0.2, what="second allocation instance ready")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
async def two_instances(infra: Infra) -> AsyncIterator[tuple[ServiceStack, list[str]]]:
    if infra.database.server_url is None:
        pytest.skip("two instances over one database need PostgreSQL; the suite runs on SQLite here")
    stack = await make_stack(
        broker=infra.broker, database=infra.database, tmp_dir=infra.tmp_dir, names=("requests", "allocation")
    )
    second = SecondInstance(stack)
    try:
        await second.wait_ready()
        yield stack, [stack.url("allocation"), second.url]
    finally:
        second.stop()
        stack.stop()


async def test_fifty_requests_race_for_five_units_across_two_instances(
    two_instances: tuple[ServiceStack, list[str]],
) -> None:
    """Both instances' consumers (and their APIs) match while the requests arrive; then all of it again."""
    stack, allocation_urls = two_instances
    coordinator = stack.headers("coordinator")
    async with httpx.AsyncClient(base_url=allocation_urls[0], headers=coordinator, timeout=30) as allocation:
        created = await allocation.post("/v1/lots", json=lot_body(donor_id="jica", quantity=UNITS))
        assert created.status_code == 201, created.text
    lot_id = created.json()["id"]
    handled_before = await _submitted_events(allocation_urls, "handled")

    ids, _ = await asyncio.gather(
        _file(stack, specs={"power_kw": 250}),
        _run_matching(allocation_urls, coordinator, "generator", runs=10),  # API writes race the consumers
    )
    statuses = await _settled(stack, ids)
    assert statuses == {"allocated": UNITS, "waitlisted": REQUESTS - UNITS}
    before = await _ledger(stack, lot_id)
    _assert_exactly_five_proposed(before, ids, waitlisted_events=REQUESTS - UNITS)

    handled = [
        n - m
        for n, m in zip(await _submitted_events(allocation_urls, "handled"), handled_before, strict=True)
    ]
    assert sum(handled) == REQUESTS
    assert all(count > 0 for count in handled), f"each instance must have consumed some: {handled}"

    # Redeliver everything the requests service ever published: both instances see all 50 again.
    duplicates_before = sum(await _submitted_events(allocation_urls, "duplicate"))
    assert await _replay_requests_outbox(stack) >= REQUESTS
    await eventually(
        lambda: _submitted_events(allocation_urls, "duplicate"),
        until=lambda counts: sum(counts) - duplicates_before >= REQUESTS,
        timeout_s=120,
        interval_s=0.5,
        what="every request.submitted redelivered and recognised",
    )
    assert await _ledger(stack, lot_id) == before
    assert await _statuses(stack, ids) == statuses


async def test_matching_runs_racing_on_both_instances_propose_each_unit_once(
    two_instances: tuple[ServiceStack, list[str]],
) -> None:
    """Fifty waiting requests, five units appearing at once, twenty matching runs on two instances."""
    stack, allocation_urls = two_instances
    ids = await _file(stack, category="pump", specs={"flow_m3h": 100})
    assert await _settled(stack, ids) == {"waitlisted": REQUESTS}
    # Stock restored straight into the database triggers no matching: every run below sees it free.
    lot_id = await _restore_lot(
        stack, category="pump", specs={"flow_m3h": 400, "head_m": 60, "medium": "water"}
    )

    runs = await _run_matching(allocation_urls, stack.headers("coordinator"), "pump", runs=20)
    assert sum(len(run["proposed"]) for run in runs) == UNITS
    assert await _settled(stack, ids, moved=UNITS) == {"allocated": UNITS, "waitlisted": REQUESTS - UNITS}
    _assert_exactly_five_proposed(await _ledger(stack, lot_id), ids, waitlisted_events=REQUESTS)


async def _file(stack: ServiceStack, *, category: str = "generator", specs: dict[str, Any]) -> set[str]:
    """File the fifty one-unit requests at once; their ids."""
    bodies = [
        request_body(category=category, specs=specs, quantity=1, priority="high") for _ in range(REQUESTS)
    ]
    async with stack.client("requests", "coordinator") as requests:
        filed = await asyncio.gather(*(requests.post("/v1/requests", json=body) for body in bodies))
    assert [r.status_code for r in filed] == [201] * REQUESTS
    return {r.json()["id"] for r in filed}


async def _settled(stack: ServiceStack, ids: set[str], *, moved: int = 0) -> Counter[str]:
    """Statuses once every request is past ``submitted`` (and ``moved`` of them allocated)."""
    return await eventually(
        lambda: _statuses(stack, ids),
        until=lambda s: sum(s.values()) == REQUESTS and "submitted" not in s and s["allocated"] >= moved,
        timeout_s=120,
        interval_s=0.5,
        what="every request allocated or waitlisted",
    )


async def _restore_lot(stack: ServiceStack, *, category: str, specs: dict[str, Any]) -> str:
    lot = Lot(
        donor_id="undp",
        category=category,
        specs=specs,
        quantity=UNITS,
        location_region="UA-63",
        location_site="restored from backup",
        available_from=date.today(),
        created_by="restore",
    )
    db = Database(stack.database_url("allocation"))
    try:
        async with db.session() as session, session.begin():
            session.add(lot)
    finally:
        await db.dispose()
    return str(lot.id)


async def _run_matching(urls: list[str], headers: dict[str, str], category: str, *, runs: int) -> list[Any]:
    """``POST /v1/matching/run`` on both instances at once, ``runs`` times in all."""
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.post(f"{urls[n % len(urls)]}/v1/matching/run", json={"category": category})
                for n in range(runs)
            )
        )
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses if r.status_code != 200]
    return [r.json() for r in responses]


async def _statuses(stack: ServiceStack, ids: set[str]) -> Counter[str]:
    found: Counter[str] = Counter()
    cursor = None
    async with stack.client("requests", "coordinator") as client:
        while True:
            page = (
                await client.get(
                    "/v1/requests", params={"limit": 200, **({"cursor": cursor} if cursor else {})}
                )
            ).json()
            found.update(item["status"] for item in page["items"] if item["id"] in ids)
            cursor = page["next_cursor"]
            if cursor is None:
                return found


async def _ledger(stack: ServiceStack, lot_id: str) -> dict[str, Any]:
    """The lot's counters, its allocations and what the service published about them, from its database."""
    db = Database(stack.database_url("allocation"))
    try:
        async with db.session() as session:
            lot = await session.get(Lot, uuid.UUID(lot_id))
            assert lot is not None
            allocations = (
                await session.exec(
                    select(Allocation)
                    .where(col(Allocation.category) == lot.category)
                    .order_by(col(Allocation.id))
                )
            ).all()
            published = await session.exec(
                select(OutboxRecord.event_type, func.count())
                .where(sa.cast(OutboxRecord.payload, sa.Text).contains(f'"category":"{lot.category}"'))
                .group_by(col(OutboxRecord.event_type))
            )
            over = await session.execute(
                sa.select(func.count())
                .select_from(Demand)
                .where(col(Demand.proposed) + col(Demand.approved) > col(Demand.quantity))
            )
            return {
                "lot": (str(lot.id), lot.quantity, lot.proposed, lot.free),
                "allocations": [(a.request_id, a.lot_id, a.quantity, a.status) for a in allocations],
                "events": dict(published.all()),
                "over_allocated_demands": over.scalar_one(),
            }
    finally:
        await db.dispose()


def _assert_exactly_five_proposed(ledger: dict[str, Any], ids: set[str], *, waitlisted_events: int) -> None:
    lot_id, quantity, proposed, free = ledger["lot"]
    assert (quantity, proposed, free) == (UNITS, UNITS, 0)
    allocations = ledger["allocations"]
    assert len(allocations) == UNITS
    assert {(str(lot), units, status) for _, lot, units, status in allocations} == {(lot_id, 1, "proposed")}
    assert len({request for request, *_ in allocations}) == UNITS
    assert {str(request) for request, *_ in allocations} <= ids
    assert ledger["events"]["vidnova.allocation.proposed.v1"] == UNITS
    assert ledger["events"]["vidnova.request.waitlisted.v1"] == waitlisted_events  # one each, never repeated
    assert ledger["over_allocated_demands"] == 0


async def _submitted_events(urls: list[str], outcome: str) -> list[int]:
    """Per instance, request.submitted events the matching group consumed with this outcome (its Prometheus
    counter; the same instance's reports group reads them too, and is not counted)."""
    counts = []
    async with httpx.AsyncClient(timeout=5) as client:
        for url in urls:
            text = (await client.get(f"{url}/metrics")).text
            counts.append(
                int(
                    sum(
                        sample.value
                        for family in text_string_to_metric_families(text)
                        for sample in family.samples
                        if sample.name == "vidnova_events_consumed_total"
                        and sample.labels.get("group") == "allocation"
                        and sample.labels.get("type") == SUBMITTED
                        and sample.labels.get("outcome") == outcome
                    )
                )
            )
    return counts


async def _replay_requests_outbox(stack: ServiceStack) -> int:
    """What ``vidnova outbox requests --replay`` does, against this stack's requests database."""
    db = Database(stack.database_url("requests"))
    try:
        async with db.session() as session, session.begin():
            return await mark_for_replay(session)
    finally:
        await db.dispose()
