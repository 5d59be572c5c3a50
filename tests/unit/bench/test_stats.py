"""Percentiles, rates, ratios and gaps of the benchmark report."""

from __future__ import annotations

import pytest

from bench.stats import gap, latency, percentile, rate, ratio


def test_percentile_interpolates_between_closest_ranks() -> None:
    samples = [4.0, 1.0, 3.0, 2.0]
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 50) == 2.5
    assert percentile(samples, 100) == 4.0
    assert percentile(list(map(float, range(1, 101))), 99) == pytest.approx(99.01)


def test_percentile_of_nothing_is_unknown_not_zero() -> None:
    assert percentile([], 50) is None


def test_percentile_outside_0_to_100_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def test_latency_reports_seconds_as_milliseconds() -> None:
    summary = latency([0.001, 0.002, 0.003])
    assert summary.count == 3
    assert summary.p50_ms == pytest.approx(2.0)
    assert summary.max_ms == pytest.approx(3.0)


def test_latency_of_no_samples_has_no_percentiles() -> None:
    summary = latency([])
    assert (summary.count, summary.p50_ms, summary.p99_ms, summary.max_ms) == (0, None, None, None)


def test_rate_needs_elapsed_time() -> None:
    assert rate(100, 2.0) == 50.0
    assert rate(100, 0.0) is None


@pytest.mark.parametrize(("value", "baseline"), [(None, 1.0), (1.0, None), (1.0, 0.0), (1.0, -2.0)])
def test_ratio_is_unknown_without_a_positive_baseline(value: float | None, baseline: float | None) -> None:
    assert ratio(value, baseline) is None


def test_ratio_divides_by_the_baseline() -> None:
    assert ratio(30.0, 120.0) == 0.25


def test_gap_is_the_relative_shortfall_from_the_optimum() -> None:
    assert gap(99.0, 100.0) == pytest.approx(0.01)
    assert gap(100.0, 100.0) == 0.0
    assert gap(0.0, 0.0) is None
