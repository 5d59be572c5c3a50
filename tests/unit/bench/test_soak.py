"""The long run's readings: database sizes and status counts from real SQLite files, drift figures."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.processes import LoadResult
from bench.soak import database_sizes, soak_figures, status_counts
from bench.stats import latency


def _load(ok: int, elapsed_s: float, seconds: list[float]) -> LoadResult:
    return LoadResult(
        offered_rate=0.0,
        concurrency=32,
        elapsed_s=elapsed_s,
        sent=ok,
        ok=ok,
        errors={},
        first_sent_at=0.0,
        last_answered_at=elapsed_s,
        max_schedule_lag_s=0.0,
        unsent=0,
        driver_cpu_s=0.0,
        latency=latency(seconds),
        records=[],
    )


def test_database_sizes_count_the_write_ahead_log_too(tmp_path: Path) -> None:
    (tmp_path / "requests.db").write_bytes(b"x" * 2**20)
    (tmp_path / "requests.db-wal").write_bytes(b"x" * 2**19)
    (tmp_path / "allocation.db").write_bytes(b"x" * 2**21)
    (tmp_path / "up.log").write_bytes(b"x" * 2**22)  # not a database
    assert database_sizes(tmp_path) == {"allocation": 2.0, "requests": 1.5}


def test_status_counts_read_the_requests_database(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "requests.db")
    connection.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY, status TEXT)")
    connection.executemany(
        "INSERT INTO requests (status) VALUES (?)", [("waitlisted",)] * 3 + [("proposed",)] * 2
    )
    connection.commit()
    connection.close()
    assert status_counts(tmp_path) == {"waitlisted": 3, "proposed": 2}


def test_figures_compare_the_last_tenth_with_the_first_and_the_lot_with_its_warm_up_twin() -> None:
    slices = [_load(1000, 10.0, [0.01, 0.02])] + [_load(1000, 20.0, [0.05, 0.2])] * 9
    details = {
        "drain_s": 3.0,
        "waitlisted_at_end": 9_000,
        "lot_post_s": {"at_start": 0.01, "with_backlog": 2.0},
    }
    figures = {f.name: f for f in soak_figures(details, slices, [40.0] + [50.0] * 9, raw=None)}

    whole = figures["whole run: accepted"]
    assert whole.value == 10_000 / 190.0
    assert figures["last tenth: accepted"].ratio == 0.5  # 50 req/s against 100 req/s
    assert figures["last tenth: stack CPU per request"].ratio == 1.25
    lot = next(f for name, f in figures.items() if name.startswith("POST /v1/lots"))
    assert "9,000 requests waitlisted" in lot.name
    assert lot.ratio == 200.0
