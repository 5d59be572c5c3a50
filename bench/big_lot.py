"""Big lot: one large lot against a long waitlist; time to match, other allocation calls meanwhile, peak RSS.

Run twice in the same benchmark, each on a fresh stack: with the default ``REMATCH_SLICE_SIZE`` and
with ``REMATCH_SLICE_SIZE=0`` (the whole backlog in one transaction, the baseline of the ratios).
The waitlist is written straight into allocation's database (as request.submitted would leave it,
already reported waiting), so the figure is the re-match alone, not the intake.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.processes import status_kib
from bench.report import Figure, Section
from bench.stack import RunningStack, start_stack
from bench.stats import latency
from services.allocation.backlog import ranks
from services.allocation.models import Demand

FULL, QUICK = 90_000, 5_000
PRIORITIES = ("critical", "high", "medium", "low")
DEADLINE_S = 900.0


def run_big_lot(work_dir: Path, *, quick: bool) -> Section:
    """Both runs, and the figures side by side."""
    started = time.perf_counter()
    waiting = QUICK if quick else FULL
    sliced = _one_run(work_dir / "big-lot-sliced", waiting, slice_size=None)
    whole = _one_run(work_dir / "big-lot-one-transaction", waiting, slice_size=0)
    base = "one transaction (REMATCH_SLICE_SIZE=0)"
    section = Section("big-lot", "5. A big lot against a long waitlist")
    section.figures = [
        Figure(
            f"time to match {waiting:,} waitlisted requests", sliced["match_s"], "s", base, whole["match_s"]
        ),
        Figure("other allocation calls meanwhile: p50", sliced["p50_ms"], "ms", base, whole["p50_ms"]),
        Figure("other allocation calls meanwhile: p99", sliced["p99_ms"], "ms", base, whole["p99_ms"]),
        Figure("other allocation calls meanwhile: max", sliced["max_ms"], "ms", base, whole["max_ms"]),
        Figure("other allocation calls made meanwhile", sliced["calls"], "", base, whole["calls"]),
        Figure("… of which refused (503, database busy)", sliced["refused"], "", base, whole["refused"]),
        Figure("allocation peak RSS (VmHWM)", sliced["peak_mib"], "MiB", base, whole["peak_mib"]),
    ]
    section.notes = [
        "Other calls: GET /v1/lots?limit=1 and GET /v1/allocations?limit=1 in turn, one at a time, from"
        " registering the lot until every request is proposed (targets: p99 < 250 ms, peak RSS < 200 MiB);"
        " a call the service refuses with 503 (it waited too long for its database) counts with its time.",
        "The waitlist is inserted into allocation's SQLite database directly; one lot of as many units"
        " (earmarked for the requests' region) is then registered through POST /v1/lots.",
    ]
    section.details = {"sliced": sliced, "one_transaction": whole}
    section.elapsed_s = time.perf_counter() - started
    return section


def _one_run(work_dir: Path, waiting: int, *, slice_size: int | None) -> dict[str, Any]:
    extra = {} if slice_size is None else {"REMATCH_SLICE_SIZE": str(slice_size)}
    stack = start_stack(work_dir, extra_env=extra)
    try:
        _waitlist(stack.state_dir / "allocation.db", waiting)
        result = asyncio.run(_register_and_watch(stack, waiting))
        pid = stack.processes().get("allocation")
        peak = status_kib(pid, "VmHWM") if pid else None
        result["peak_mib"] = round(peak / 1024, 1) if peak else None
        return result
    finally:
        stack.stop()


def _waitlist(path: Path, count: int) -> None:
    """``count`` one-unit Kharkiv requests, already reported waiting."""
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 60})
    submitted = datetime.now(UTC) - timedelta(days=1)
    table: sa.Table = Demand.__table__  # type: ignore[attr-defined]
    rows = [
        {
            "request_id": uuid.uuid4(),
            "ref": f"UA63-2026-{n:06d}",
            "region": "UA-63",
            "settlement": "Харків",
            "facility_name": "Лікарня",
            "facility_kind": "hospital",
            "category": "generator",
            "specs": {"power_kw": 250},
            "quantity": 1,
            "priority": PRIORITIES[n % 4],
            "priority_rank": ranks(PRIORITIES[n % 4], "UA-63")[0],
            "front_line_rank": ranks(PRIORITIES[n % 4], "UA-63")[1],
            "needed_by": date.today() + timedelta(days=30 + n % 60),
            "submitted_at": submitted + timedelta(microseconds=n),
            "open": True,
            "proposed": 0,
            "approved": 0,
            "dispatched": 0,
            "delivered": 0,
            "waitlisted_reported": 1,
        }
        for n in range(count)
    ]
    with engine.begin() as connection:
        for start in range(0, count, 5000):
            connection.execute(sa.insert(table), rows[start : start + 5000])
    engine.dispose()


async def _register_and_watch(stack: RunningStack, waiting: int) -> dict[str, Any]:
    lot = {
        "category": "generator",
        "specs": {"power_kw": 500, "fuel": "diesel", "phases": "three"},
        "quantity": waiting,
        "location": {"region": "UA-63", "site": "depot"},
        "eligible_regions": ["UA-63"],
    }
    donor = httpx.AsyncClient(
        base_url=stack.url("allocation"), headers=stack.headers("donor", donor_id="jica"), timeout=600.0
    )
    reader = httpx.AsyncClient(
        base_url=stack.url("allocation"), headers=stack.headers("coordinator"), timeout=600.0
    )
    async with donor, reader:
        started = time.perf_counter()
        registration = asyncio.ensure_future(donor.post("/v1/lots", json=lot))
        samples: list[float] = []
        refused = 0  # 503: the service gave up waiting for its database (the one-transaction baseline)
        paths = ("/v1/lots", "/v1/allocations")
        done_at = None
        while done_at is None and time.perf_counter() - started < DEADLINE_S:
            call = time.perf_counter()
            response = await reader.get(paths[len(samples) % 2], params={"limit": 1})
            samples.append(time.perf_counter() - call)
            if response.status_code == httpx.codes.SERVICE_UNAVAILABLE:
                refused += 1
                continue
            response.raise_for_status()
            if len(samples) % 2 == 1:
                items = response.json()["items"]
                if items and items[0]["quantities"]["proposed"] >= waiting:
                    done_at = time.perf_counter()
        created = await registration
        created.raise_for_status()
    stats = latency(samples)
    return {
        "match_s": round(done_at - started, 2) if done_at else None,
        "p50_ms": stats.p50_ms,
        "p99_ms": stats.p99_ms,
        "max_ms": stats.max_ms,
        "calls": len(samples),
        "refused": refused,
    }
