"""The report: figures beside their baselines, rendered as Markdown and written as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bench.report import (
    Figure,
    Report,
    Section,
    Table,
    format_number,
    format_ratio,
    render_markdown,
    write_report,
)


def _report() -> Report:
    section = Section(
        "raw",
        "1. Raw limits",
        figures=[
            Figure("HTTP + DB saturated", 150.0, "req/s", "HTTP alone", 1500.0),
            Figure("HTTP latency p50", 9.2, "ms"),
        ],
        tables=[Table("Sizes", ["requests", "gap"], [[1000, "0.0000%"], [10_000, None]])],
        notes=["Measured on a busy machine."],
    )
    return Report(
        started_at=datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC),
        finished_at=datetime(2026, 3, 1, 12, 2, 5, tzinfo=UTC),
        options={"quick": True},
        machine={"cores": 2, "versions": {"fastapi": "0.1"}},
        sections=[section, Section("system", "2. System", error="RuntimeError: no stack")],
    )


def test_a_figure_carries_its_ratio_to_the_baseline() -> None:
    assert Figure("x", 50.0, "req/s", "limit", 200.0).ratio == 0.25
    assert Figure("x", 50.0, "req/s").ratio is None
    assert Figure("x", 50.0, "req/s", "limit", 200.0).as_dict()["ratio"] == 0.25


def test_numbers_read_as_people_write_them() -> None:
    assert format_number(180_000.4) == "180,000"
    assert format_number(12.345) == "12.3"
    assert format_number(2.345) == "2.35"
    assert format_number(0.01234) == "0.0123"
    assert format_number(7) == "7"
    assert format_number(None) == "—"
    assert format_number("text") == "text"
    assert format_ratio(0.1234) == "0.123x"
    assert format_ratio(2021.4) == "2,021x"
    assert format_ratio(None) == "—"


def test_markdown_puts_each_figure_beside_its_baseline_and_ratio() -> None:
    markdown = render_markdown(_report())
    assert "| HTTP + DB saturated | 150 req/s | HTTP alone | 1,500 req/s | 0.1x |" in markdown
    assert "| HTTP latency p50 | 9.20 ms |  |  |  |" in markdown
    assert "| 10,000 | — |" in markdown
    assert "**Failed:** `RuntimeError: no stack`" in markdown
    assert "- **versions**: fastapi 0.1" in markdown
    assert "- Measured on a busy machine." in markdown


def test_results_are_written_as_json_and_markdown_named_by_utc_start(tmp_path: Path) -> None:
    json_path, md_path = write_report(_report(), tmp_path)
    assert json_path.name == "20260301T120005Z.json"
    assert md_path.name == "20260301T120005Z.md"
    data = json.loads(json_path.read_text())
    assert data["elapsed_s"] == 120.0
    assert data["sections"][0]["figures"][0]["ratio"] == 0.1
    assert data["sections"][1]["error"] == "RuntimeError: no stack"
    assert not list(tmp_path.glob("*.tmp"))
