"""Section 4, the long run: 100,000 requests through the stack, then new stock for the whole backlog.

What it answers: does the stack slow down as its tables grow (last tenth of the run against the
first), what does one lot cost when tens of thousands of requests wait for it (the one re-match that
must read the whole backlog), and how much memory each service holds at the end (peak RSS).
Stock runs out early on purpose: most requests end waitlisted, the backlog that matters here.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx

from bench import collect
from bench.processes import LoadResult, run_load
from bench.raw import RawLimits
from bench.report import Figure, Section, Table
from bench.stack import RunningStack, start_stack
from bench.system import _requests_url, provision_stock, warm_up
from bench.system_report import memory_table

FULL_REQUESTS = 100_000
QUICK_REQUESTS = 2_000
SLICES = 10
CONCURRENCY = 32
STOCK_LOTS = 4
LATE_LOT_UNITS = 1000
# Retention in minutes instead of days, so the run reaches the steady state a deployment lives in:
# published outbox rows, processed events and finished deliveries pruned while requests keep coming.
RETENTION_S = 180
RETENTION_ENV = {
    "RETENTION_OUTBOX_DAYS": str(RETENTION_S / 86_400),
    "RETENTION_PROCESSED_EVENTS_DAYS": str(RETENTION_S / 86_400),
    "RETENTION_DELIVERIES_DAYS": str(RETENTION_S / 86_400),
    "RETENTION_INTERVAL_S": "20",
}
PRUNED_TABLES = ("outbox", "processed_events", "deliveries")


def run_soak(work_dir: Path, *, quick: bool, raw: RawLimits | None, requests: int | None = None) -> Section:
    """File ``requests`` requests in ten slices, drain, add one lot, read memory and database sizes."""
    total = requests or (QUICK_REQUESTS if quick else FULL_REQUESTS)
    section = Section("soak", f"4. The long run: {total:,} requests, then stock for the backlog")
    started = time.perf_counter()
    stack = start_stack(work_dir / "soak", extra_env=RETENTION_ENV)
    try:
        # Stock for a tenth of the requests (each asks for one unit): the rest build the backlog.
        section.details["stock"] = provision_stock(
            stack, lots=STOCK_LOTS, units=max(1, total // 10 // STOCK_LOTS)
        )
        warm_up(stack)
        lot_before = timed_lot(stack, units=1)
        memory_before = stack.memory()
        slices, cpu_ms, sizes = [], [], [database_sizes(stack.state_dir)]
        for _ in range(SLICES):
            cpu_before = sum(stack.cpu_seconds().values())
            slices.append(_slice(stack, total // SLICES))
            cpu_ms.append((sum(stack.cpu_seconds().values()) - cpu_before) * 1000 / max(1, slices[-1].ok))
            sizes.append(database_sizes(stack.state_dir))
        last_id = next(str(r[3]) for r in reversed(slices[-1].records) if r[3])
        drain_started = time.perf_counter()
        drained = asyncio.run(collect.wait_drained(stack, last_id, deadline_s=900))
        drain_s = time.perf_counter() - drain_started
        statuses = status_counts(stack.state_dir)
        waiting = statuses.get("waitlisted", 0)
        lot_after = timed_lot(stack, units=LATE_LOT_UNITS)
        section.details.update(
            requests=total,
            slices=[
                {**s.summary(), "stack_cpu_ms_per_request": round(c, 2)}
                for s, c in zip(slices, cpu_ms, strict=True)
            ],
            drained=drained,
            drain_s=round(drain_s, 1),
            waitlisted_at_end=waiting,
            statuses_at_end=statuses,
            lot_post_s={"at_start": lot_before, "with_backlog": lot_after},
            memory_after_warm_up=memory_before,
            memory_at_end=stack.memory(),
            cpu_seconds=stack.cpu_seconds(),
            database_mib=database_sizes(stack.state_dir),
            database_mib_after_each_slice=sizes,
            pruned_tables_rows=pruned_rows(stack.state_dir),
        )
    finally:
        section.details["exit_status"] = stack.stop()
    section.figures = soak_figures(section.details, slices, cpu_ms, raw)
    section.tables = [
        memory_table(section.details["memory_at_end"], section.details["cpu_seconds"]),
        Table(
            "Memory: peak RSS at the end of the run against after warm-up",
            ["process", "after warm-up MiB", "peak at end MiB", "ratio"],
            [
                [name, before["peak_rss_mib"], after["peak_rss_mib"], _ratio(after, before)]
                for name, after in section.details["memory_at_end"].items()
                if (before := section.details["memory_after_warm_up"].get(name))
            ],
        ),
        Table(
            "Databases at the end of the run",
            ["service", "MiB (database + WAL)", "KiB per request", *PRUNED_TABLES],
            [
                [name, mib, mib * 1024 / total, *section.details["pruned_tables_rows"].get(name, {}).values()]
                for name, mib in section.details["database_mib"].items()
            ],
        ),
        growth_table(section.details["database_mib_after_each_slice"], total // SLICES),
    ]
    section.notes.append(
        f"{total:,} requests sent as {SLICES} slices of {total // SLICES:,} at saturation ({CONCURRENCY} "
        f"connections); {'drained' if section.details['drained'] else 'NOT drained'} "
        f"{section.details['drain_s']} s after the last; {waiting:,} requests waitlisted at the end."
    )
    section.notes.append(
        f"Retention is {RETENTION_S // 60} minutes here (days in a deployment), pruned every "
        f"{RETENTION_ENV['RETENTION_INTERVAL_S']} s, so the run shows the size a database settles at: a "
        "table's rows at the end are those of the last minutes, and the growth per request of the "
        "later slices is what the kept business rows need."
    )
    section.notes.append(
        "The lot registered at the end re-matches the whole waitlisted backlog inside its own "
        "transaction (POST /v1/lots answers once its proposals are recorded): its time is the cost of "
        "new stock with that many requests waiting."
    )
    section.elapsed_s = time.perf_counter() - started
    return section


def _slice(stack: RunningStack, count: int) -> LoadResult:
    return run_load(
        _requests_url(stack),
        rate_per_s=0,
        count=count,
        duration_s=min(600.0, max(60.0, count / 5)),  # bench.load refuses more than 600 s
        concurrency=CONCURRENCY,
        token=stack.token("coordinator"),
    )


def timed_lot(stack: RunningStack, units: int) -> float:
    """Seconds for one ``POST /v1/lots`` of stock every waiting request fits."""
    body = {
        "category": "generator",
        "specs": {"power_kw": 500, "fuel": "diesel", "phases": "three"},
        "quantity": units,
        "location": {"region": "UA-32", "site": "Bench depot, late delivery"},
        "available_from": date.today().isoformat(),
        "eligible_regions": None,
        "notes": "benchmark stock for the backlog",
    }
    with httpx.Client(headers=stack.headers("donor", donor_id="bench-donor"), timeout=600.0) as client:
        started = time.perf_counter()
        response = client.post(f"{stack.url('allocation')}/v1/lots", json=body)
        elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"POST /v1/lots → {response.status_code} {response.text[:200]}")
    return round(elapsed, 3)


def status_counts(state_dir: Path) -> dict[str, int]:
    """Requests per status, read from the requests service's SQLite file (the API has no counts)."""
    with _read_only(state_dir / "requests.db") as connection:
        rows = connection.execute("SELECT status, count(*) FROM requests GROUP BY status").fetchall()
    return {str(status): int(count) for status, count in rows}


def database_sizes(state_dir: Path) -> dict[str, float]:
    """Each service's SQLite database with its WAL, in MiB."""
    sizes = {}
    for database in sorted(state_dir.glob("*.db")):
        files = [database, database.with_name(database.name + "-wal")]
        sizes[database.stem] = round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)
    return sizes


def pruned_rows(state_dir: Path) -> dict[str, dict[str, int | None]]:
    """Rows left in each service's pruned tables (None: the service has no such table)."""
    counts: dict[str, dict[str, int | None]] = {}
    for database in sorted(state_dir.glob("*.db")):
        with _read_only(database) as connection:
            tables = {
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            counts[database.stem] = {
                table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
                if table in tables
                else None
                for table in PRUNED_TABLES
            }
    return counts


@contextmanager
def _read_only(database: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a service's SQLite file while the service may still write it."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


def growth_table(sizes: list[dict[str, float]], per_slice: int) -> Table:
    """KiB each service's database grew per request, slice by slice."""
    services = sorted({name for reading in sizes for name in reading})  # a database may appear late
    rows = [
        [f"{n}", *(round((after.get(s, 0.0) - before.get(s, 0.0)) * 1024 / per_slice, 2) for s in services)]
        for n, (before, after) in enumerate(pairwise(sizes), start=1)
    ]
    return Table("Database growth per request, KiB, slice by slice", ["slice", *services], rows)


def soak_figures(
    details: dict[str, Any], slices: list[LoadResult], cpu_ms: list[float], raw: RawLimits | None
) -> list[Figure]:
    """Throughput over the run, its drift, and the cost of a lot against the backlog."""
    first, last = slices[0], slices[-1]
    accepted = sum(s.ok for s in slices)
    seconds = sum(s.elapsed_s for s in slices)
    pipeline = raw.pipeline_per_s() if raw else None
    lots = details["lot_post_s"]
    return [
        Figure(
            "whole run: accepted",
            accepted / seconds if seconds else None,
            "req/s",
            "raw pipeline limit",
            pipeline,
        ),
        Figure("last tenth: accepted", last.ok_per_s, "req/s", "first tenth", first.ok_per_s),
        # CPU per request does not depend on how work queued between slices the way throughput does.
        Figure("last tenth: stack CPU per request", cpu_ms[-1], "ms", "first tenth", cpu_ms[0]),
        Figure(
            "last tenth: POST /v1/requests p99",
            last.latency.p99_ms,
            "ms",
            "first tenth",
            first.latency.p99_ms,
        ),
        Figure("drain after the last request", details["drain_s"], "s"),
        Figure(
            f"POST /v1/lots ({LATE_LOT_UNITS:,} units), {details['waitlisted_at_end']:,} requests waitlisted",
            lots["with_backlog"],
            "s",
            "POST /v1/lots (1 unit) after warm-up",
            lots["at_start"],
        ),
    ]


def _ratio(after: dict[str, float | None], before: dict[str, float | None]) -> float | None:
    a, b = after.get("peak_rss_mib"), before.get("peak_rss_mib")
    return round(a / b, 2) if a and b else None
