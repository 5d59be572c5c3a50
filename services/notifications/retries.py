"""When to try a delivery again, and when to give up. Pure: no I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Outcome = Literal["delivered", "retry", "failed"]
_RNG = random.SystemRandom()


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt came to, before the policy decides what follows."""

    ok: bool
    error: str | None = None
    retryable: bool = True
    response_status: int | None = None


@dataclass(frozen=True)
class NextStep:
    """The policy's decision: delivered, retry at ``retry_at``, or failed for good."""

    outcome: Outcome
    retry_at: datetime | None = None


def backoff_delay(attempt: int, *, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: between half and all of ``base * 2**(attempt-1)``, capped."""
    ceiling = min(cap_s, base_s * 2.0 ** (attempt - 1))
    return ceiling * (0.5 + 0.5 * (rng or _RNG).random())


def next_step(
    result: AttemptResult,
    *,
    attempt: int,
    max_attempts: int,
    now: datetime,
    base_s: float,
    cap_s: float,
    rng: random.Random | None = None,
) -> NextStep:
    """Delivered; or failed when the error is permanent or attempts are used up; else retry later."""
    if result.ok:
        return NextStep("delivered")
    if not result.retryable or attempt >= max_attempts:
        return NextStep("failed")
    delay = backoff_delay(attempt, base_s=base_s, cap_s=cap_s, rng=rng)
    return NextStep("retry", retry_at=now + timedelta(seconds=delay))
