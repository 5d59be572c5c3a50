"""The statement's bar chart, drawn on the server as SVG geometry (no script, nothing fetched)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 210
VALUE_WIDTH = 60
BAR_HEIGHT = 18
GAP = 8


@dataclass(frozen=True, slots=True)
class Bar:
    """One region's bar: its label, its value and where the template draws it."""

    label: str
    value: int
    y: int
    width: int


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: tuple[Bar, ...]


def bar_chart(values: list[tuple[str, int]]) -> BarChart:
    """Horizontal bars scaled to the largest value, in the order given."""
    largest = max((value for _, value in values), default=0)
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = tuple(
        Bar(
            label=label,
            value=value,
            y=index * (BAR_HEIGHT + GAP),
            width=max(1, round(room * value / largest)) if largest and value else 0,
        )
        for index, (label, value) in enumerate(values)
    )
    height = max(len(bars) * (BAR_HEIGHT + GAP) - GAP, BAR_HEIGHT)
    return BarChart(width=WIDTH, height=height, label_width=LABEL_WIDTH, bar_height=BAR_HEIGHT, bars=bars)
