"""Retry policy: exponential backoff with jitter, permanent errors fail at once, then `failed`."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.retries import AttemptResult, backoff_delay, next_step

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = {"max_attempts": 4, "now": NOW, "base_s": 2.0, "cap_s": 10.0}


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (9, 10.0)])
def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half(attempt: int, ceiling: float) -> None:
    rng = random.Random(attempt)
    delays = [backoff_delay(attempt, base_s=2.0, cap_s=10.0, rng=rng) for _ in range(200)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len({round(d, 6) for d in delays}) > 100  # jittered: retries of many jobs spread out


def test_a_delivered_attempt_is_final() -> None:
    assert next_step(AttemptResult(ok=True), attempt=1, **POLICY).outcome == "delivered"


def test_a_retryable_failure_is_retried_later() -> None:
    step = next_step(AttemptResult(ok=False, error="HTTP 503"), attempt=2, **POLICY)
    assert step.outcome == "retry"
    assert step.retry_at is not None
    assert NOW + timedelta(seconds=2) <= step.retry_at <= NOW + timedelta(seconds=4)


def test_the_last_attempt_fails_for_good() -> None:
    step = next_step(AttemptResult(ok=False, error="timed out"), attempt=4, **POLICY)
    assert step.outcome == "failed"
    assert step.retry_at is None


def test_a_permanent_error_fails_without_retrying() -> None:
    step = next_step(AttemptResult(ok=False, error="HTTP 410", retryable=False), attempt=1, **POLICY)
    assert step.outcome == "failed"
