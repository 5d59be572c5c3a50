"""Section 6, reports: the four reports at 100k requests, beside the same run's raw database limit.

Each report is timed through its route function (``services/allocation/api/reports.py``: scope, one
snapshot of the projection, the figures, the export) on an allocation database filled by
``bench.reports_data``; the baseline is reading every row of the tables that report reads with a bare
``SELECT *`` through the same driver, timed in the same run: the floor any report of these rows pays.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.responses import Response

from bench.raw_db import postgres_accepts, postgres_server_url, private_postgres_database
from bench.report import Figure, Section, Table
from bench.reports_data import Counts, Shape, fill
from bench.stats import percentile, ratio
from services.allocation.api import reports as reports_api
from shared.auth import Principal
from shared.db import Database
from shared.migrations import upgrade

FULL, QUICK = 100_000, 10_000
REPEATS = 5
REGION = "UA-63"  # Kharkiv: front line, among the busiest regions
TABLES = {
    "unmet-need": ("report_allocations", "report_requests"),
    "donor-fulfilment": ("report_allocations", "report_lots"),  # requests too, for a priority filter only
    "lead-times": ("report_allocations", "report_lots", "report_requests"),
    "stock": ("report_allocations", "report_lots"),
}
ROUTES = {
    "unmet-need": reports_api.unmet_need,
    "donor-fulfilment": reports_api.donor_fulfilment,
    "lead-times": reports_api.lead_times,
    "stock": reports_api.stock,
}
COORDINATOR = Principal(sub="bench-coordinator", role="coordinator")


@dataclass(frozen=True)
class Case:
    """One report as a caller asks for it: its filters (as query parameters), its caller, its format."""

    report: str
    scope: str
    params: dict[str, str] = field(default_factory=dict)
    principal: Principal = COORDINATOR
    fmt: str = "json"

    @property
    def label(self) -> str:
        """E.g. ``unmet-need, UA-63 2026-11, csv``."""
        return ", ".join([self.report, self.scope, *([self.fmt] if self.fmt != "json" else [])])


def cases(now: datetime) -> list[Case]:
    """Each report unfiltered and for one region over last month; the donor's own scopes; CSV and XLSX."""
    last_day = now.date().replace(day=1) - timedelta(days=1)
    month = {"region": REGION, "from": last_day.replace(day=1).isoformat(), "to": last_day.isoformat()}
    scope = f"{REGION} {last_day:%Y-%m}"
    donor = Principal(sub="bench-donor", role="donor", donor_id="jica")
    return [
        *(Case(name, "all") for name in ROUTES),
        *(Case(name, scope, month) for name in ROUTES),
        Case("donor-fulfilment", "donor jica's own", principal=donor),
        Case("stock", "donor jica's own", principal=donor),
        Case("unmet-need", "all", fmt="csv"),
        Case("unmet-need", "all", fmt="xlsx"),
    ]


async def answer(db: Database, case: Case) -> bytes:
    """The report's answer as the API sends it: the route function, then its body as bytes."""
    params = case.params
    filters = await reports_api.report_filters(
        start=date.fromisoformat(params["from"]) if "from" in params else None,
        end=date.fromisoformat(params["to"]) if "to" in params else None,
        region=params.get("region"),
    )
    async with db.session() as session:
        result = await ROUTES[case.report](
            filters=filters,
            principal=case.principal,
            session=session,
            fmt=case.fmt,  # type: ignore[arg-type]
        )
    return bytes(result.body) if isinstance(result, Response) else json.dumps(result).encode()


async def select_all(db: Database, tables: tuple[str, ...]) -> int:
    """The floor: every row of the tables, as the driver returns them (no types, no objects)."""
    rows = 0
    async with db.engine.connect() as connection:
        for table in tables:
            result = await connection.exec_driver_sql(f"SELECT * FROM {table}")  # noqa: S608 (our names)
            rows += len(result.fetchall())
    return rows


async def _timed(step: Callable[[], Awaitable[Any]], repeats: int) -> tuple[list[float], Any]:
    samples, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = await step()
        samples.append(time.perf_counter() - started)
    return samples, out


async def _peak_heap_mib(step: Callable[[], Awaitable[Any]]) -> float:
    tracemalloc.start()
    try:
        await step()
        return round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()


def _items(case: Case, body: bytes) -> int | None:
    if case.fmt == "json":
        return len(json.loads(body)["items"])
    return body.count(b"\r\n") - 1 if case.fmt == "csv" else None


async def measure(db: Database, *, now: datetime, repeats: int, heap: bool) -> dict[str, Any]:
    """Floors per table and per report, then every case: median and p90 in ms, rows read per second."""
    tables = sorted({t for read in TABLES.values() for t in read})
    per_table = {}
    for table in tables:
        samples, rows = await _timed(lambda t=table: select_all(db, (t,)), repeats)  # type: ignore[misc]
        per_table[table] = {"rows": rows, **_summary(samples, rows)}
    floors = {}
    for name, read in TABLES.items():
        samples, rows = await _timed(lambda r=read: select_all(db, r), repeats)  # type: ignore[misc]
        floors[name] = {"tables": list(read), "rows": rows, **_summary(samples, rows)}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = []
    for case in cases(now):
        samples, body = await _timed(lambda c=case: answer(db, c), repeats)  # type: ignore[misc]
        floor = floors[case.report]
        result = {
            "report": case.report,
            "scope": case.scope,
            "format": case.fmt,
            "items": _items(case, body),
            "bytes": len(body),
            **_summary(samples, floor["rows"]),
            "floor_median_ms": floor["median_ms"],
            "ratio_to_floor": _round(ratio(statistics.median(samples) * 1000, floor["median_ms"])),
        }
        if heap and case.scope == "all" and case.fmt == "json":
            result["peak_heap_mib"] = await _peak_heap_mib(lambda c=case: answer(db, c))  # type: ignore[misc]
        results.append(result)
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    return {"tables": per_table, "floors": floors, "cases": results, "peak_rss_growth_mib": rss_growth >> 10}


def _summary(samples: list[float], rows: int) -> dict[str, Any]:
    median = statistics.median(samples)
    return {
        "median_ms": _round(median * 1000),
        "p90_ms": _round(percentile([s * 1000 for s in samples], 90)),
        "rows_per_s": round(rows / median) if median > 0 else None,
        "repeats": len(samples),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


async def on_database(url: str, shape: Shape, *, now: datetime, repeats: int, heap: bool) -> dict[str, Any]:
    """Migrate a fresh database, fill it, measure it."""
    await asyncio.to_thread(upgrade, "allocation", url)
    db = Database(url)
    try:
        started = time.perf_counter()
        counts: Counts = await fill(db, shape, now=now)
        fill_s = time.perf_counter() - started
        measured = await measure(db, now=now, repeats=repeats, heap=heap)
        return {"counts": counts.__dict__, "fill_s": round(fill_s, 1), **measured}
    finally:
        await db.dispose()


async def _run(work_dir: Path, shape: Shape, repeats: int) -> dict[str, dict[str, Any]]:
    now = datetime.now(UTC)
    sqlite_url = f"sqlite+aiosqlite:///{work_dir / 'bench-reports.db'}"
    backends = {"sqlite": await on_database(sqlite_url, shape, now=now, repeats=repeats, heap=True)}
    server = postgres_server_url()
    if await postgres_accepts(server):
        async with private_postgres_database(server) as url:
            backends["postgresql"] = await on_database(url, shape, now=now, repeats=repeats, heap=False)
    return backends


def run_reports(work_dir: Path, *, quick: bool) -> Section:
    """Fill, measure and write the section (PostgreSQL too when a server answers)."""
    started = time.perf_counter()
    shape = Shape(QUICK if quick else FULL)
    work_dir.mkdir(parents=True, exist_ok=True)
    backends = asyncio.run(_run(work_dir, shape, REPEATS))
    section = reports_section(shape, backends)
    section.elapsed_s = time.perf_counter() - started
    return section


def reports_section(shape: Shape, backends: dict[str, dict[str, Any]]) -> Section:
    """Figures (each case beside its floor), tables and notes of what ``on_database`` measured."""
    section = Section("reports", f"6. Reports at {shape.requests:,} requests")
    for backend, measured in backends.items():
        section.figures += _figures(backend, measured)
        section.tables += _tables(backend, measured)
    section.notes = _notes(backends)
    if "postgresql" not in backends:
        where = _host(postgres_server_url())
        section.notes.append(f"PostgreSQL not measured: no server answered at {where}.")
    section.details = backends
    return section


def _host(url: str) -> str:
    return url.rsplit("@", 1)[-1]


def _figures(backend: str, measured: dict[str, Any]) -> list[Figure]:
    figures = []
    for case in measured["cases"]:
        floor = measured["floors"][case["report"]]
        fmt = [case["format"]] if case["format"] != "json" else []
        label = ", ".join([case["report"], case["scope"], *fmt])
        figures.append(
            Figure(
                f"{backend}: {label}",
                case["median_ms"],
                "ms",
                f"SELECT * of its {len(floor['tables'])} tables ({floor['rows']:,} rows)",
                floor["median_ms"],
                note=f"p90 {case['p90_ms']:.0f} ms",
            )
        )
    return figures


def _tables(backend: str, measured: dict[str, Any]) -> list[Table]:
    columns = ["report", "scope", "format", "items", "median ms", "p90 ms", "floor ms", "ratio"]
    columns += ["rows read/s", "peak heap MiB"]
    rows = [
        [
            c["report"],
            c["scope"],
            c["format"],
            c["items"],
            c["median_ms"],
            c["p90_ms"],
            c["floor_median_ms"],
            f"{c['ratio_to_floor']:.2f}x",
            c["rows_per_s"],
            c.get("peak_heap_mib"),
        ]
        for c in measured["cases"]
    ]
    floors = [
        [table, t["rows"], t["median_ms"], t["p90_ms"], t["rows_per_s"]]
        for table, t in measured["tables"].items()
    ]
    floor_columns = ["table", "rows", "median ms", "p90 ms", "rows/s"]
    return [
        Table(f"{backend}: each report, {REPEATS} runs", columns, rows),
        Table(f"{backend}: the floor, SELECT * per table", floor_columns, floors),
    ]


def _notes(backends: dict[str, dict[str, Any]]) -> list[str]:
    notes = [
        "Timed: the route function of /v1/reports/<name> (scope, filters, queries.report in one snapshot,"
        " the figures in Python, the export) and the body's bytes (json.dumps for JSON); no HTTP. Baseline:"
        " a bare SELECT * of every table the report reads, same engine and driver, fetchall() of tuples.",
        f"Rows read/s: rows of the tables the report reads / its median. Peak heap: tracemalloc peak of one"
        f" more run (SQLite). {REQUESTS_NOTE}",
    ]
    for backend, measured in backends.items():
        counts = measured["counts"]
        notes.append(
            f"{backend}: {counts['requests']:,} requests, {counts['allocations']:,} allocations,"
            f" {counts['lots']:,} lots, {counts['donors']} donors, {counts['programmes']} programmes inserted"
            f" in {measured['fill_s']} s (after the migrations); peak RSS of this process grew"
            f" {measured['peak_rss_growth_mib']} MiB"
            " while the reports ran."
        )
    return notes


REQUESTS_NOTE = (
    "Data: requests over the 365 days before the run in every region (front line x3) and category;"
    " 0-3 allocations each (50% delivered, 7% dispatched, 7% approved, 6% proposed, 10% each rejected,"
    " expired, released); one lot per ~8 requests from 8 donors with 8 programmes."
)
