"""Section 2, the system: `vidnova up`, loaded at saturation and at fixed rates, timed hop by hop."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bench import collect
from bench.hops import Hops, Journey, first_notices, hops
from bench.load import REGIONS
from bench.processes import LoadResult, run_load
from bench.profiling import profile_services, profile_tables, py_spy
from bench.raw import RawLimits
from bench.report import Section
from bench.stack import RunningStack, start_stack
from bench.stats import latency
from bench.system_report import events_table, figures, hop_table, memory_table, notes

WARM_UP = 20
LOT_UNITS = 1000
LOTS = 12
SERVICES = ("requests", "allocation", "notifications")
TARGET_RATE = 100.0  # issue 19: p99 submit → proposal < 100 ms at this offered rate


@dataclass(frozen=True)
class SystemPlan:
    """How hard and how long to drive the system."""

    fixed_rate: float
    seconds: float
    concurrency: int
    sample: int
    drain_seconds: float
    profile_seconds: float
    target_rate: float = TARGET_RATE


QUICK = SystemPlan(200.0, 3.0, 32, 300, 25.0, 0.0)
FULL = SystemPlan(200.0, 20.0, 32, 1500, 60.0, 8.0)


@dataclass
class Phase:
    """One load phase and what the system did with it."""

    name: str
    category: str
    load: LoadResult
    hops: Hops
    sampled: int
    inbox_source: str
    drained: bool
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    outcome_by_order: list[float] = field(default_factory=list)  # submit → outcome s, in submission order

    @property
    def pipeline_per_s(self) -> float | None:
        """Requests carried to an outcome per second: accepted / (last outcome - first submission)."""
        return _per_s(self.load.ok, self.load.first_sent_at, self.hops.last_outcome_at)

    @property
    def notified_per_s(self) -> float | None:
        """Requests carried to a coordinator notice per second."""
        return _per_s(self.load.ok, self.load.first_sent_at, self.hops.last_notice_at)

    @property
    def first_tenth(self) -> list[float]:
        """Submit → outcome of the earliest tenth of the sampled submissions."""
        return self.outcome_by_order[: max(1, len(self.outcome_by_order) // 10)]

    @property
    def last_tenth(self) -> list[float]:
        """Submit → outcome of the latest tenth of the sampled submissions."""
        return self.outcome_by_order[-max(1, len(self.outcome_by_order) // 10) :]

    @property
    def stack_cpu_ms(self) -> float | None:
        """CPU of the three services (and the broker) per accepted request."""
        return sum(self.cpu_ms_per_request.values()) if self.cpu_ms_per_request else None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return {
            "load": self.load.summary(),
            "sampled_requests": self.sampled,
            "outcomes_in_sample": self.hops.outcomes,
            "missing_outcome": self.hops.missing_outcome,
            "missing_notice": self.hops.missing_notice,
            "inbox_source": self.inbox_source,
            "drained_before_deadline": self.drained,
            "pipeline_per_s": self.pipeline_per_s,
            "notified_per_s": self.notified_per_s,
            "category": self.category,
            "cpu_ms_per_request": self.cpu_ms_per_request,
            "submit_to_outcome_first_tenth": latency(self.first_tenth).as_dict(),
            "submit_to_outcome_last_tenth": latency(self.last_tenth).as_dict(),
            "submit_to_outcome": latency(self.hops.submit_to_outcome).as_dict(),
            "outcome_to_inbox": latency(self.hops.outcome_to_inbox).as_dict(),
            "submit_to_inbox": latency(self.hops.submit_to_inbox).as_dict(),
        }


def _per_s(count: int, start: float | None, end: float | None) -> float | None:
    if start is None or end is None or end <= start or count == 0:
        return None
    return count / (end - start)


def run_system(
    work_dir: Path,
    *,
    quick: bool,
    raw: RawLimits | None,
    section: Section | None = None,
    broker_env: dict[str, str] | None = None,
    outside: dict[str, int] | None = None,
    profile_seconds: float | None = None,
) -> Section:
    """Start the stack, provision stock if the API allows, run the phases, read memory, stop."""
    plan = QUICK if quick else FULL
    if profile_seconds is not None:
        plan = replace(plan, profile_seconds=profile_seconds)
    section = section or Section("system", "2. The system: submit → outcome → coordinator inbox")
    started = time.perf_counter()
    stack = start_stack(work_dir, broker_env=broker_env, outside=outside)
    section.details.update(startup_s=round(time.perf_counter() - started, 1), plan=plan.__dict__)
    section.details["infrastructure"] = stack.infrastructure
    phases: list[Phase] = []
    try:
        section.details["stock"] = provision_stock(stack)
        warm_up(stack)
        phases.append(drive_phase(stack, "saturation", plan, rate_per_s=0.0))
        phases.append(drive_phase(stack, "fixed", plan, rate_per_s=plan.fixed_rate))
        phases.append(drive_phase(stack, "target rate", plan, rate_per_s=plan.target_rate))
        capacity = phases[0].notified_per_s or phases[0].pipeline_per_s
        if capacity and capacity < 0.9 * plan.fixed_rate:
            # The fixed rate overloads this machine: also time the hops where nothing queues.
            phases.append(drive_phase(stack, "half capacity", plan, rate_per_s=round(capacity / 2, 1)))
        # Requests no stock fits stay unmet: does each new one cost more as the waitlist grows?
        phases.append(drive_phase(stack, "waitlist backlog", plan, rate_per_s=0.0, category="pump"))
        if plan.profile_seconds and py_spy() is not None:
            section.details["profile"] = profile_under_load(stack, plan)
        section.details["phases"] = {phase.name: phase.as_dict() for phase in phases}
        section.details["memory_at_end"] = stack.memory()
        section.details["cpu_seconds"] = stack.cpu_seconds()
    finally:
        section.details["exit_status"] = stack.stop()
    section.details["events"] = collect.event_counts(stack.state_dir, SERVICES)
    section.details["requests_accepted"] = sum(p.load.ok for p in phases) + WARM_UP
    section.figures = figures(phases, raw)
    section.tables = [
        hop_table(phases, raw),
        memory_table(section.details.get("memory_at_end", {}), section.details.get("cpu_seconds", {})),
        events_table(section.details.get("events", {}), section.details["requests_accepted"]),
        *profile_tables(section.details.get("profile", {})),
    ]
    section.notes += notes(phases, section.details, raw, lot_units=LOT_UNITS)
    section.elapsed_s = time.perf_counter() - started
    return section


def provision_stock(stack: RunningStack, *, lots: int = LOTS, units: int = LOT_UNITS) -> dict[str, Any]:
    """Register donor lots that fit every bench request, if the allocation service has the lots API."""
    headers = stack.headers("donor", donor_id="bench-donor")
    created, answer = 0, ""
    with httpx.Client(headers=headers, timeout=30.0) as client:
        for n in range(lots):
            body = {
                "category": "generator",
                "specs": {"power_kw": 500, "fuel": "diesel", "phases": "three"},
                "quantity": units,
                "location": {"region": REGIONS[n % len(REGIONS)], "site": f"Bench depot {n}"},
                "available_from": date.today().isoformat(),
                "eligible_regions": None,
                "notes": "benchmark stock",
            }
            response = client.post(f"{stack.url('allocation')}/v1/lots", json=body)
            if response.status_code != 201:
                answer = f"POST /v1/lots → {response.status_code} {response.text[:200]}"
                break
            created += 1
    return {"lots": created, "units": created * units, "lots_api": answer or "201 Created"}


def _requests_url(stack: RunningStack) -> str:
    return f"{stack.url('requests')}/v1/requests"


def warm_up(stack: RunningStack, count: int = WARM_UP) -> None:
    """A few requests end to end, so that consumers have joined and connections are open."""
    token = stack.token("coordinator")
    load = run_load(
        _requests_url(stack), rate_per_s=0, count=count, duration_s=30, concurrency=4, token=token
    )
    ids = [str(r[3]) for r in load.records if r[3]]
    if not ids:
        raise RuntimeError(f"warm-up: no request was accepted ({load.errors})")
    asyncio.run(collect.journeys(stack, ids, deadline_s=60))


def drive_phase(
    stack: RunningStack, name: str, plan: SystemPlan, *, rate_per_s: float, category: str = "generator"
) -> Phase:
    """Offer load from a separate process, wait for the pipeline to drain, read timelines and the inbox."""
    concurrency = 64 if rate_per_s > 0 else plan.concurrency
    bound = int(rate_per_s * plan.seconds) if rate_per_s > 0 else int(plan.seconds * 5_000)
    cpu_before = stack.cpu_seconds()
    load = run_load(
        _requests_url(stack),
        rate_per_s=rate_per_s,
        count=bound,
        duration_s=plan.seconds,
        concurrency=concurrency,
        token=stack.token("coordinator"),
        category=category,
    )
    accepted = sorted((r for r in load.records if r[3]), key=lambda r: r[0])
    ids = [str(r[3]) for r in accepted]
    if not ids or load.first_sent_at is None:
        raise RuntimeError(f"{name}: no request was accepted ({load.errors})")
    drained = asyncio.run(collect.wait_drained(stack, ids[-1], deadline_s=plan.drain_seconds))
    cpu_after = stack.cpu_seconds()
    # The last requests sent are always in the sample: they bound the pipeline's throughput.
    rng = random.Random(len(ids))  # noqa: S311 (a reproducible sample, not a secret)
    sample = list(dict.fromkeys(ids[-20:] + rng.sample(ids, min(plan.sample, len(ids)))))
    seen = asyncio.run(collect.journeys(stack, sample, deadline_s=5.0))
    items, source = asyncio.run(collect.coordinator_inbox(stack, since=load.first_sent_at, wanted=len(ids)))
    cpu = {
        service: round((cpu_after[service] - cpu_before[service]) * 1000 / len(ids), 2)
        for service in cpu_after
        if service in cpu_before
    }
    phase_hops = hops(seen, first_notices(items, seen))
    return Phase(name, category, load, phase_hops, len(sample), source, drained, cpu, _by_order(seen))


def _by_order(journeys: list[Journey]) -> list[float]:
    timed = [(j.submitted_at, j.outcome_at) for j in journeys if j.submitted_at and j.outcome_at]
    return [outcome - submitted for submitted, outcome in sorted(timed)]


def profile_under_load(stack: RunningStack, plan: SystemPlan) -> dict[str, Any]:
    """Saturate the stack again while py-spy samples each service; the hottest frames of each."""
    token = stack.token("coordinator")
    return profile_services(
        {name: pid for name, pid in stack.processes().items() if name in SERVICES},
        seconds=plan.profile_seconds,
        during=lambda: run_load(
            _requests_url(stack),
            rate_per_s=0,
            count=int(plan.profile_seconds * 5_000),
            duration_s=plan.profile_seconds + 2,
            concurrency=plan.concurrency,
            token=token,
        ),
    )
