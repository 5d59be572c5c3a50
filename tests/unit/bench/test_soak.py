"""The long run's readings: database sizes and status counts from real SQLite files, drift figures."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.processes import LoadResult
from bench.soak import RETENTION_ENV, database_sizes, growth_table, pruned_rows, soak_figures, status_counts
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


def test_pruned_rows_count_each_services_pruned_tables_and_mark_the_ones_it_lacks(tmp_path: Path) -> None:
    notifications = sqlite3.connect(tmp_path / "notifications.db")
    for table in ("outbox", "processed_events", "deliveries"):
        notifications.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
    notifications.executemany("INSERT INTO deliveries (id) VALUES (?)", [(n,) for n in range(4)])
    notifications.commit()
    notifications.close()
    requests = sqlite3.connect(tmp_path / "requests.db")
    requests.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY)")
    requests.execute("INSERT INTO outbox (id) VALUES (1)")
    requests.commit()
    requests.close()

    assert pruned_rows(tmp_path) == {
        "notifications": {"outbox": 0, "processed_events": 0, "deliveries": 4},
        "requests": {"outbox": 1, "processed_events": None, "deliveries": None},
    }


def test_growth_table_gives_kib_per_request_of_each_slice() -> None:
    sizes = [{"requests": 1.0}, {"requests": 2.0, "allocation": 0.5}, {"requests": 2.5, "allocation": 0.5}]

    table = growth_table(sizes, per_slice=1024)

    assert table.columns == ["slice", "allocation", "requests"]
    assert table.rows == [["1", 0.5, 1.0], ["2", 0.0, 0.5]]


def test_the_long_run_keeps_minutes_of_retention_valid_for_the_services() -> None:
    from shared.settings import RetentionSettings

    settings = RetentionSettings.model_validate(RETENTION_ENV)
    assert 0 < settings.outbox_days <= settings.processed_events_days < 1 / 24
    assert settings.interval_s <= 60
