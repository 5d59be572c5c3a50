"""Section 1, raw limits: the broker, HTTP, HTTP + database, and the database alone, in this run."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.raw_broker import BrokerLimits, measure_broker
from bench.raw_db import WriteLimit, postgres_accepts, postgres_limits, postgres_server_url, sqlite_limits
from bench.raw_http import HttpLimits, measure_http
from bench.report import Figure, Section
from vidnova.broker import EmbeddedBroker

# SPEC §11, measured on a quiet machine of the same kind: the ratio says how busy this one was.
REFERENCE = "SPEC §11 (quiet machine)"
SPEC_FIGURES = {
    "produce": 180_000.0,
    "consume": 190_000.0,
    "send_and_wait": 4_700.0,
    "round_trip_p50": 4.7,
    "round_trip_p99": 15.0,
    "group_join": 3.0,
    "http_echo": 10_800.0,
    "sqlite_commit": 3_000.0,
    "postgres_commit": 1_300.0,
}


@dataclass(frozen=True)
class RawPlan:
    """How much to measure (the quick plan is smaller)."""

    broker_messages: int
    one_by_one: int
    round_trips: int
    http_seconds: float
    http_concurrency: int
    fixed_rate: float
    fixed_seconds: float
    db_commits: int
    db_seconds: float


QUICK = RawPlan(20_000, 300, 150, 2.5, 32, 200.0, 2.5, 600, 1.5)
FULL = RawPlan(100_000, 1_000, 500, 8.0, 32, 200.0, 8.0, 3_000, 5.0)


@dataclass
class RawLimits:
    """Everything section 1 measured; the system section is judged against it."""

    broker: BrokerLimits | None = None
    http: HttpLimits | None = None
    sqlite: list[WriteLimit] | None = None
    postgres: list[WriteLimit] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return {
            "broker": self.broker.as_dict() if self.broker else None,
            "http": self.http.as_dict() if self.http else None,
            "sqlite": [w.as_dict() for w in self.sqlite or []],
            "postgresql": [w.as_dict() for w in self.postgres or []],
        }

    def db(self, backend: str, concurrency: int) -> WriteLimit | None:
        """The measured write limit of a backend at a concurrency, if any."""
        for limit in (self.sqlite if backend == "sqlite" else self.postgres) or []:
            if limit.concurrency == concurrency:
                return limit
        return None

    def pipeline_per_s(self) -> float | None:
        """Ceiling of a write pipeline: the slower of HTTP + DB (saturated) and one-by-one broker sends."""
        candidates = []
        if self.http is not None and self.http.write.load.ok_per_s:
            candidates.append(self.http.write.load.ok_per_s)
        if self.broker is not None and self.broker.produce_per_s:
            candidates.append(self.broker.produce_per_s)
        return min(candidates) if candidates else None


def run_raw(work_dir: Path, *, quick: bool) -> tuple[Section, RawLimits]:
    """Measure every raw limit; a part that fails is reported and the rest still runs."""
    plan = QUICK if quick else FULL
    section = Section("raw", "1. Raw limits of this machine (measured in this run)")
    limits = RawLimits()
    started = time.perf_counter()
    section.details["plan"] = plan.__dict__
    _measure("broker", section, lambda: _broker(limits, plan, work_dir))
    _measure("http", section, lambda: _http(limits, plan, work_dir))
    _measure("database", section, lambda: _database(limits, plan, work_dir, section))
    section.details.update(limits.as_dict())
    section.figures = figures(limits)
    section.notes += notes(limits)
    section.elapsed_s = time.perf_counter() - started
    return section, limits


def _measure(part: str, section: Section, step: Any) -> None:
    try:
        step()
    except Exception as exc:  # noqa: BLE001 (one failed part must not lose the rest of the report)
        section.notes.append(f"**{part} not measured:** {type(exc).__name__}: {exc}")


def _broker(limits: RawLimits, plan: RawPlan, work_dir: Path) -> None:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = None if external else EmbeddedBroker(log_path=work_dir / "raw-broker.log")
    bootstrap = external or broker.start()  # type: ignore[union-attr]
    try:
        limits.broker = asyncio.run(
            measure_broker(
                bootstrap,
                messages=plan.broker_messages,
                one_by_one=plan.one_by_one,
                round_trip_count=plan.round_trips,
            )
        )
    finally:
        if broker is not None:
            broker.stop()


def _http(limits: RawLimits, plan: RawPlan, work_dir: Path) -> None:
    limits.http = measure_http(
        work_dir,
        duration_s=plan.http_seconds,
        concurrency=plan.http_concurrency,
        fixed_rate=plan.fixed_rate,
        fixed_duration_s=plan.fixed_seconds,
    )


def _database(limits: RawLimits, plan: RawPlan, work_dir: Path, section: Section) -> None:
    concurrencies = (1, 16)
    limits.sqlite = asyncio.run(
        sqlite_limits(
            work_dir, count=plan.db_commits, duration_s=plan.db_seconds, concurrencies=concurrencies
        )
    )
    server = postgres_server_url()
    if asyncio.run(postgres_accepts(server)):
        limits.postgres = asyncio.run(
            postgres_limits(
                server, count=plan.db_commits, duration_s=plan.db_seconds, concurrencies=concurrencies
            )
        )
    else:
        section.notes.append("PostgreSQL: nothing accepted connections at 127.0.0.1:5432; skipped.")


def figures(limits: RawLimits) -> list[Figure]:
    """The raw figures, each against SPEC §11's quiet-machine figure where it gives one."""
    out: list[Figure] = []
    ref = SPEC_FIGURES
    if (b := limits.broker) is not None:
        rt = b.round_trip
        out += [
            Figure("broker: batched produce, 500 B", b.produce_per_s, "msg/s", REFERENCE, ref["produce"]),
            Figure("broker: consume, getmany + commit", b.consume_per_s, "msg/s", REFERENCE, ref["consume"]),
            Figure(
                "broker: send_and_wait one by one",
                b.send_and_wait_per_s,
                "msg/s",
                REFERENCE,
                ref["send_and_wait"],
            ),
            Figure(
                "broker: round trip p50 (fetch_max_wait 10 ms)",
                rt.get("p50_ms"),
                "ms",
                REFERENCE,
                ref["round_trip_p50"],
            ),
            Figure("broker: round trip p99", rt.get("p99_ms"), "ms", REFERENCE, ref["round_trip_p99"]),
            Figure("broker: consumer group join", b.group_join_s, "s", REFERENCE, ref["group_join"]),
        ]
    if (h := limits.http) is not None:
        echo, write = h.echo.load, h.write.load
        out += [
            Figure(
                "HTTP: minimal POST, saturated",
                echo.ok_per_s,
                "req/s",
                REFERENCE,
                ref["http_echo"],
                note=f"{echo.concurrency} connections",
            ),
            Figure("HTTP: minimal POST latency p50", echo.latency.p50_ms, "ms"),
            Figure("HTTP: minimal POST latency p99", echo.latency.p99_ms, "ms"),
            Figure("HTTP: server CPU per request", h.echo.server_cpu_ms, "ms"),
            Figure(
                "HTTP + DB: POST → row + outbox row (SQLite), saturated",
                write.ok_per_s,
                "req/s",
                "HTTP alone",
                echo.ok_per_s,
            ),
            Figure("HTTP + DB: latency p50, saturated", write.latency.p50_ms, "ms"),
            Figure("HTTP + DB: latency p99, saturated", write.latency.p99_ms, "ms"),
            Figure(
                "HTTP + DB: server CPU per request",
                h.write.server_cpu_ms,
                "ms",
                "HTTP alone",
                h.echo.server_cpu_ms,
            ),
        ]
        if h.write_at_rate is not None:
            r = h.write_at_rate.load
            out += [
                Figure(
                    f"HTTP + DB at {r.offered_rate:.0f} req/s: achieved",
                    r.ok_per_s,
                    "req/s",
                    "offered",
                    r.offered_rate,
                ),
                Figure(f"HTTP + DB at {r.offered_rate:.0f} req/s: latency p50", r.latency.p50_ms, "ms"),
                Figure(f"HTTP + DB at {r.offered_rate:.0f} req/s: latency p99", r.latency.p99_ms, "ms"),
            ]
    for backend, limits_of, key in (
        ("SQLite", limits.sqlite, "sqlite_commit"),
        ("PostgreSQL", limits.postgres, "postgres_commit"),
    ):
        for w in limits_of or []:
            spec = (
                (REFERENCE, ref[key]) if w.concurrency == 1 else ("1 writer", _single(limits_of).per_second)
            )
            out += [
                Figure(
                    f"DB {backend}: row + outbox commit, {w.concurrency} writer(s)",
                    w.per_second,
                    "commit/s",
                    *spec,
                ),
                Figure(
                    f"DB {backend}: commit latency p50 / p99, {w.concurrency} writer(s)",
                    w.latency.p50_ms,
                    "ms",
                    note=f"p99 {w.latency.p99_ms:.1f} ms" if w.latency.p99_ms is not None else "",
                ),
            ]
    return out


def _single(limits: list[WriteLimit]) -> WriteLimit:
    return next(w for w in limits if w.concurrency == 1)


def notes(limits: RawLimits) -> list[str]:
    """What a reader needs to read the raw figures right."""
    out = [
        "Ratios against SPEC §11 say how busy this machine was (other engineers' test suites share its "
        "2 cores), not how good the code is; the system section is judged against the figures above.",
        "HTTP is driven by `bench.load` (keep-alive HTTP/1.1 on asyncio streams, its own process), not wrk: "
        "the figure includes a Python driver sharing the 2 cores (SPEC §11's 10.8k req/s used wrk).",
    ]
    if limits.broker is not None:
        out.append(
            f"Broker at {limits.broker.bootstrap_servers}, private topics of 3 partitions, "
            f"{limits.broker.messages:,} messages of 500 B, acks=all, linger_ms=1."
        )
    return out
