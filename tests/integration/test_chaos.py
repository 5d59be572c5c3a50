"""`make chaos` in short: each fault once against `vidnova up` (two allocation instances), then the history.

A service killed (the supervisor restarts it), the embedded broker killed with the services running
(restarted on its port, topics and outbox replays by the supervisor, consumers re-read the fresh log
on their own), an operator's outbox replay; every acknowledged write present once, every acknowledged
request past `submitted`, nothing over-allocated, no event applied twice. The ten seeded full-size
runs are `make chaos`; their times are measured there, never asserted here.
"""

from __future__ import annotations

from pathlib import Path

from bench.chaos import Plan, run_once


def test_each_fault_once_leaves_a_clean_history(tmp_path: Path) -> None:
    plan = Plan(requests=60, rate_per_s=15.0, faults=4, lots=6, quiesce_timeout_s=150.0)
    result = run_once(
        101, plan, tmp_path, include=("requests", "allocation-2", "broker", "replay:allocation")
    )
    assert result.acknowledged == plan.requests, result
    assert result.quiescence_s is not None, f"not every acknowledged request got an outcome: {result}"
    assert not any(result.violations.values()), result.violations
    assert sorted(result.faults) == [
        "kill allocation-2",
        "kill broker",
        "kill requests",
        "replay allocation",
    ]
