"""`make chaos` (`python -m bench.chaos`): seeded faults against `vidnova up`, then a history check.

A run starts the stack as `make run` does (the embedded broker, SQLite unless *_DATABASE_URL say
otherwise) with two allocation instances, registers scarce stock, submits requests at a steady rate
(each write retried with its Idempotency-Key until acknowledged) and meanwhile applies a seeded mix
of faults: SIGKILL of a service (the supervisor restarts it), SIGKILL of the broker with the services
running (the supervisor restarts it, re-creates the topics and replays the outboxes), and operator
outbox replays. Then it waits for quiescence and checks the history (bench/chaos_history.py).
Rejoin time: SIGKILL of a service → its /readyz answers 200 again (restart, group join included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.chaos_history import collect, statuses
from bench.load import REGIONS
from bench.stack import RunningStack, start_stack
from shared.settings import SERVICE_NAMES

SERVICE_KILLS = ("requests", "allocation", "allocation-2", "notifications")
EMBEDDED_BROKER_ONLY = ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_ENABLE_IDEMPOTENCE", "VIDNOVA_TOPIC_PREFIX")


@dataclass
class Plan:
    """The size of one run; the seed decides which faults and when."""

    requests: int = 200
    rate_per_s: float = 20.0
    faults: int = 5
    lots: int = 12
    lot_units: int = 8
    quiesce_timeout_s: float = 240.0
    # Keep KAFKA_BOOTSTRAP_SERVERS (Apache Kafka, say): no broker kills, which need the embedded one.
    external_broker: bool = False


@dataclass
class RunResult:
    seed: int
    faults: list[str] = field(default_factory=list)
    acknowledged: int = 0
    rejoin_s: dict[str, list[float]] = field(default_factory=dict)
    join_s: dict[str, list[float]] = field(default_factory=dict)
    quiescence_s: float | None = None
    violations: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.quiescence_s is not None and not any(self.violations.values())


def schedule(seed: int, plan: Plan, *, include: tuple[str, ...] = ()) -> list[tuple[float, str]]:
    """(seconds into the load, fault) pairs: ``include`` first, then seeded picks, spread over the load."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible schedule, not a secret)
    replays = [f"replay:{name}" for name in SERVICE_NAMES]
    brokers = [] if plan.external_broker else ["broker", "broker"]
    kinds = [*SERVICE_KILLS, *SERVICE_KILLS, *brokers, *replays]
    faults = list(include) + [rng.choice(kinds) for _ in range(max(plan.faults - len(include), 0))]
    rng.shuffle(faults)
    span = plan.requests / plan.rate_per_s
    step = span / (len(faults) + 1)
    return [(step * (i + 1) + rng.uniform(-step / 4, step / 4), fault) for i, fault in enumerate(faults)]


def request_body(seed: int, n: int) -> dict[str, Any]:
    return {
        "region": REGIONS[n % len(REGIONS)],
        "settlement": "Харків",
        "facility": {"name": f"chaos-{seed}-{n}", "kind": "water_utility"},
        "category": "generator",
        "specs": {"power_kw": 100, "fuel": ["diesel", "gas"]},
        "quantity": 1 + n % 3,
        "priority": ("high", "medium", "low")[n % 3],
        "needed_by": (date.today() + timedelta(days=30)).isoformat(),
        "justification": "Chaos run: pumping station without grid power.",
        "contact": {"name": "Олена Коваль"},
    }


async def submit(client: httpx.AsyncClient, url: str, seed: int, n: int, acked: dict[str, str]) -> None:
    """One logical write, retried with its key until acknowledged (or 60 s pass: then not acknowledged)."""
    body, key = request_body(seed, n), f"chaos-{seed}-{n}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            response = await client.post(url, json=body, headers={"Idempotency-Key": key})
        except httpx.HTTPError:
            response = None
        if response is not None and response.status_code in (200, 201):
            acked[key] = response.json()["id"]
            return
        await asyncio.sleep(0.2)


def pids(stack: RunningStack) -> dict[str, int]:
    return {k: int(v) for k, v in json.loads((stack.state_dir / "processes.json").read_text()).items()}


def child_url(stack: RunningStack, name: str) -> str:
    service, _, index = name.partition("-")
    return f"http://127.0.0.1:{stack.ports[service] + 100 * (int(index or 1) - 1)}"  # type: ignore[index]


async def ready_after(
    urls: list[str], started: float, *, timeout_s: float = 120.0
) -> tuple[float | None, float | None]:
    """Seconds from ``started`` until every URL answers HTTP, and until every /readyz is 200."""
    serving: float | None = None
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() - started < timeout_s:
            answers = []
            for url in urls:
                try:
                    answers.append((await client.get(f"{url}/readyz")).status_code)
                except httpx.HTTPError:
                    answers.append(0)
            if serving is None and all(answers):
                serving = time.monotonic() - started
            if all(code == 200 for code in answers):
                return serving, time.monotonic() - started
            await asyncio.sleep(0.1)
    return serving, None


async def replaced(stack: RunningStack, name: str, killed: int, started: float) -> None:
    """Wait (up to a minute) until processes.json names a new process for ``name``."""
    while time.monotonic() - started < 60:
        if pids(stack).get(name) != killed:
            return
        await asyncio.sleep(0.05)


async def apply(stack: RunningStack, fault: str, result: RunResult, env: dict[str, str]) -> None:
    """Apply one fault; measure how long until what it broke is ready again."""
    started = time.monotonic()
    if fault.startswith("replay:"):
        name = fault.removeprefix("replay:")
        result.faults.append(f"replay {name}")
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "vidnova.cli", "outbox", name, "--replay"],  # the documented command
            env=env,
            capture_output=True,
            check=True,
        )
        return
    killed = pids(stack)[fault]
    os.kill(killed, signal.SIGKILL)
    result.faults.append(f"kill {fault}")
    # Counted from the kill: the supervisor has started a new process, and it answers ready.
    await replaced(stack, fault, killed, started)
    if fault == "broker":
        urls = [child_url(stack, name) for name in SERVICE_NAMES]
    else:
        urls = [child_url(stack, fault)]
    serving, ready = await ready_after(urls, started)
    result.rejoin_s.setdefault(fault, []).append(round(ready, 2) if ready is not None else float("inf"))
    if fault != "broker" and serving is not None and ready is not None:
        # From the new process answering HTTP to its consumers having joined: the group's part.
        result.join_s.setdefault(fault, []).append(round(ready - serving, 2))


async def quiesce(stack: RunningStack, result: RunResult, acked: dict[str, str], plan: Plan) -> None:
    """Wait until every acknowledged request is past `submitted`; record how long that took."""
    started = time.monotonic()
    headers = stack.headers("coordinator")
    async with httpx.AsyncClient(base_url=stack.url("requests"), headers=headers, timeout=30.0) as client:
        while time.monotonic() - started < plan.quiesce_timeout_s:
            try:
                found = await statuses(client)
            except httpx.HTTPError:
                found = {}
            if found and all(found.get(rid, "submitted") != "submitted" for rid in acked.values()):
                result.quiescence_s = round(time.monotonic() - started, 2)
                return
            await asyncio.sleep(0.5)


def provision(stack: RunningStack, plan: Plan) -> None:
    """Scarce stock: some requests are proposed lots, the rest waitlisted."""
    with httpx.Client(headers=stack.headers("donor", donor_id="chaos-donor"), timeout=30.0) as client:
        for n in range(plan.lots):
            body = {
                "category": "generator",
                "specs": {"power_kw": 500, "fuel": "diesel", "phases": "three"},
                "quantity": plan.lot_units,
                "location": {"region": REGIONS[n % len(REGIONS)], "site": f"Chaos depot {n}"},
                "available_from": date.today().isoformat(),
                "eligible_regions": None,
            }
            client.post(f"{stack.url('allocation')}/v1/lots", json=body).raise_for_status()


async def drive(stack: RunningStack, seed: int, plan: Plan, include: tuple[str, ...]) -> RunResult:
    result = RunResult(seed=seed)
    acked: dict[str, str] = {}
    env = {**os.environ, "VIDNOVA_STATE_DIR": str(stack.state_dir)}
    for name in SERVICE_NAMES:  # what `vidnova up` gave its services when nothing else was configured
        env.setdefault(
            f"{name.upper()}_DATABASE_URL", f"sqlite+aiosqlite:///{stack.state_dir.resolve()}/{name}.db"
        )
    url = f"{stack.url('requests')}/v1/requests"
    begin = time.monotonic()

    async def faults() -> None:
        for at, fault in schedule(seed, plan, include=include):
            await asyncio.sleep(max(0.0, begin + at - time.monotonic()))
            await apply(stack, fault, result, env)

    headers = stack.headers("coordinator")
    async with httpx.AsyncClient(headers=headers, timeout=10.0) as client:
        writes = []
        fault_task = asyncio.create_task(faults())
        for n in range(plan.requests):
            await asyncio.sleep(max(0.0, begin + n / plan.rate_per_s - time.monotonic()))
            writes.append(asyncio.create_task(submit(client, url, seed, n, acked)))
        await asyncio.gather(*writes)
        await fault_task
    result.acknowledged = len(acked)
    await quiesce(stack, result, acked, plan)
    urls = {name: stack.url(name) for name in SERVICE_NAMES}
    history = await collect(acked, urls=urls, headers=headers)  # idempotency key = the write's marker
    result.violations = history.violations()
    statuses_seen = [item["status"] for item in history.requests]
    result.counts = {
        "requests": len(history.requests),
        "waitlisted": statuses_seen.count("waitlisted"),
        "allocated": sum(s in ("allocated", "partially_allocated") for s in statuses_seen),
        "allocations": len(history.allocations),
        "notices": len(history.notices),
    }
    return result


def run_once(seed: int, plan: Plan, work_dir: Path, *, include: tuple[str, ...] = ()) -> RunResult:
    """One seeded run against a fresh `vidnova up`."""
    stack = start_stack(
        work_dir / f"seed-{seed}",
        extra_env={"ALLOCATION_INSTANCES": "2"},
        without=() if plan.external_broker else EMBEDDED_BROKER_ONLY,  # broker kills need the embedded one
    )
    try:
        provision(stack, plan)
        return asyncio.run(drive(stack, seed, plan, include))
    finally:
        stack.stop()


def table(results: list[RunResult]) -> str:
    """The Markdown table of docs/architecture.md ("make chaos")."""
    lines = [
        "| seed | faults | acknowledged | waitlisted / allocated | allocations | notices "
        "| quiescence s | service rejoin s (max) | of which group join s (max) | history |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        service_rejoins = [t for name, ts in r.rejoin_s.items() if name != "broker" for t in ts]
        joins = [t for ts in r.join_s.values() for t in ts]
        problems = [f"{check}: {len(found)}" for check, found in r.violations.items() if found]
        lines.append(
            f"| {r.seed} | {', '.join(r.faults)} | {r.acknowledged} "
            f"| {r.counts.get('waitlisted', 0)} / {r.counts.get('allocated', 0)} "
            f"| {r.counts.get('allocations', 0)} | {r.counts.get('notices', 0)} "
            f"| {r.quiescence_s if r.quiescence_s is not None else 'not reached'} "
            f"| {max(service_rejoins) if service_rejoins else '-'} | {max(joins) if joins else '-'} "
            f"| {'ok' if r.ok else '; '.join(problems) or 'not quiescent'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=Plan.requests)
    parser.add_argument("--faults", type=int, default=Plan.faults)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument(
        "--external-broker",
        action="store_true",
        help="run on KAFKA_BOOTSTRAP_SERVERS (e.g. Apache Kafka, static membership): no broker kills",
    )
    args = parser.parse_args(argv)
    plan = Plan(requests=args.requests, faults=args.faults, external_broker=args.external_broker)
    results = []
    with tempfile.TemporaryDirectory(prefix="vidnova-chaos-") as work:
        for seed in range(args.first_seed, args.first_seed + args.runs):
            print(f"[chaos] seed {seed} …", flush=True)
            # Every run on the embedded broker kills it at least once, with the services running.
            result = run_once(seed, plan, Path(work), include=() if plan.external_broker else ("broker",))
            print(
                f"[chaos] seed {seed}: {'ok' if result.ok else 'FAILED'} {result.faults} "
                f"rejoin {result.rejoin_s} quiescence {result.quiescence_s}",
                flush=True,
            )
            results.append(result)
    rejoins = sorted(t for r in results for name, ts in r.rejoin_s.items() if name != "broker" for t in ts)
    broker = sorted(t for r in results for t in r.rejoin_s.get("broker", []))
    joins = sorted(t for r in results for ts in r.join_s.values() for t in ts)
    summary = (
        f"service rejoin (SIGKILL → /readyz 200) over {len(rejoins)} kills: "
        + (f"median {rejoins[len(rejoins) // 2]} s, max {rejoins[-1]} s" if rejoins else "none")
        + (
            f"; of which group join (serving → ready): median {joins[len(joins) // 2]} s, max {joins[-1]} s"
            if joins
            else ""
        )
        + f"; broker kill → broker back, topics and replays done, services ready: {broker or 'none'} s"
    )
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"chaos-{stamp}.json").write_text(
        json.dumps([r.__dict__ for r in results], indent=2, default=str) + "\n"
    )
    (args.out / f"chaos-{stamp}.md").write_text(table(results) + "\n\n" + summary + "\n")
    print(table(results) + "\n\n" + summary)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
