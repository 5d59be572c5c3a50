"""Summaries of measured samples: percentiles, rates and ratios to a baseline (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

PERCENTILES = (50, 95, 99)


def percentile(samples: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; None if no samples."""
    if not samples:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    below, above = math.floor(position), math.ceil(position)
    if below == above:
        return float(ordered[below])
    fraction = position - below
    return float(ordered[below] * (1 - fraction) + ordered[above] * fraction)


@dataclass(frozen=True)
class Latency:
    """Latency percentiles in milliseconds over `count` samples."""

    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        """The JSON shape."""
        return asdict(self)


def latency(seconds: Sequence[float]) -> Latency:
    """Percentiles of durations given in seconds, reported in milliseconds."""
    millis = [s * 1000 for s in seconds]
    p50, p95, p99 = (percentile(millis, q) for q in PERCENTILES)
    return Latency(len(millis), p50, p95, p99, max(millis) if millis else None)


def rate(count: int, seconds: float) -> float | None:
    """Events per second; None when nothing was timed."""
    return count / seconds if seconds > 0 else None


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline; None when either is missing or the baseline is not positive."""
    if value is None or baseline is None or baseline <= 0:
        return None
    return value / baseline


def gap(value: float, optimum: float) -> float | None:
    """Relative shortfall from an optimum (0 = optimal, 0.01 = 1% below)."""
    if optimum <= 0:
        return None
    return 1 - value / optimum
