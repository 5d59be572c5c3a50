"""The benchmark report: figures beside their same-run baselines, written as JSON and Markdown."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.stats import ratio


@dataclass(frozen=True)
class Figure:
    """One measured figure, beside the baseline it is judged against (measured in the same run)."""

    name: str
    value: float | None
    unit: str
    baseline: str | None = None
    baseline_value: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """value / baseline_value, when both are known."""
        return ratio(self.value, self.baseline_value)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (the ratio included)."""
        return {**asdict(self), "ratio": self.ratio}


@dataclass(frozen=True)
class Table:
    """A free-form table (e.g. matching per instance size)."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Section:
    """What one part of the benchmark measured."""

    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return {
            "name": self.name,
            "title": self.title,
            "elapsed_s": round(self.elapsed_s, 3),
            "error": self.error,
            "figures": [figure.as_dict() for figure in self.figures],
            "tables": [asdict(table) for table in self.tables],
            "notes": self.notes,
            "details": self.details,
        }


@dataclass
class Report:
    """A whole run: when, where, with which options, and each section."""

    started_at: datetime
    finished_at: datetime
    options: dict[str, Any]
    machine: dict[str, Any]
    sections: list[Section]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "elapsed_s": round((self.finished_at - self.started_at).total_seconds(), 1),
            "options": self.options,
            "machine": self.machine,
            "sections": [section.as_dict() for section in self.sections],
        }


def format_number(value: Any) -> str:
    """Readable numbers: thousands separated, about three significant digits below 100."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if isinstance(value, int) or magnitude >= 100 or value == 0:
        return f"{round(value):,}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_ratio(value: float | None) -> str:
    """A ratio as a multiplier, e.g. ``0.42x``."""
    if value is None:
        return "—"
    return f"{value:.3g}x" if value < 10 else f"{value:,.0f}x"


def _cell(value: Any) -> str:
    return format_number(value).replace("|", "\\|")


def render_figures(figures: list[Figure]) -> list[str]:
    """A Markdown table of figures with their baselines and ratios."""
    lines = ["| figure | value | baseline (same run) | baseline value | ratio |", "|---|---:|---|---:|---:|"]
    for f in figures:
        name = f"{f.name} ({f.note})" if f.note else f.name
        value = f"{_cell(f.value)} {f.unit}".strip()
        baseline_value = f"{_cell(f.baseline_value)} {f.unit}".strip() if f.baseline else ""
        lines.append(
            f"| {name} | {value} | {f.baseline or ''} | {baseline_value} | "
            f"{format_ratio(f.ratio) if f.baseline else ''} |"
        )
    return lines


def render_table(table: Table) -> list[str]:
    """A Markdown table from columns and rows."""
    lines = [f"**{table.title}**", "", "| " + " | ".join(table.columns) + " |"]
    lines.append("|" + "---|" * len(table.columns))
    lines.extend("| " + " | ".join(_cell(cell) for cell in row) + " |" for row in table.rows)
    return lines


def render_machine(machine: dict[str, Any]) -> list[str]:
    """Machine facts as a bullet list."""
    lines = []
    for key, value in machine.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        lines.append(f"- **{key}**: {value}")
    return lines


def render_markdown(report: Report) -> str:
    """The human report."""
    elapsed = (report.finished_at - report.started_at).total_seconds()
    options = ", ".join(f"{k}={v}" for k, v in report.options.items())
    lines = [
        f"# Vidnova benchmark — {report.started_at:%Y-%m-%d %H:%M} UTC",
        "",
        f"Run took {elapsed:.0f} s ({options}). Every figure stands beside a baseline measured in this",
        "same run on this same machine, and as a ratio to it: absolute numbers are noisy on a shared",
        "2-core machine, ratios much less so.",
        "",
        "## Machine",
        "",
        *render_machine(report.machine),
    ]
    for section in report.sections:
        lines += ["", f"## {section.title}", "", f"_{section.elapsed_s:.0f} s_", ""]
        if section.error:
            lines += [f"**Failed:** `{section.error}`", ""]
        if section.figures:
            lines += [*render_figures(section.figures), ""]
        for table in section.tables:
            lines += [*render_table(table), ""]
        lines += [f"- {note}" for note in section.notes]
    return "\n".join(lines).rstrip() + "\n"


def result_stem(started_at: datetime) -> str:
    """File name stem of a run: its UTC start, e.g. ``20260301T120000Z``."""
    return started_at.strftime("%Y%m%dT%H%M%SZ")


def write_report(report: Report, directory: Path) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.md``; the JSON goes through a temporary file."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = result_stem(report.started_at)
    json_path, md_path = directory / f"{stem}.json", directory / f"{stem}.md"
    temporary = directory / f"{stem}.json.tmp"
    temporary.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n")
    temporary.replace(json_path)
    md_path.write_text(render_markdown(report))
    return json_path, md_path
