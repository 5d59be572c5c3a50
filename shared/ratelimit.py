"""Per-person write rate limit (SPEC §14.6): a token bucket per token subject, in this process."""

from __future__ import annotations

import math
import time

from shared.problems import Problem

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_TRACKED = 10_000


class WriteLimiter:
    """Allows ``per_minute`` writes per person, refilled continuously (bursts up to the whole minute)."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}  # person -> (tokens, at)

    def check(self, person: str) -> None:
        """Spend one write for ``person``, or raise 429 problem with ``Retry-After``."""
        now = time.monotonic()
        tokens, at = self._buckets.get(person, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            retry_after = max(1, math.ceil((1.0 - tokens) / self.rate))
            self._buckets[person] = (tokens, now)
            raise Problem(
                429,
                "Too Many Requests",
                f"at most {self.capacity:g} writes a minute per person; try again in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
        self._buckets[person] = (tokens - 1.0, now)
        if len(self._buckets) > MAX_TRACKED:
            self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        """Drop people whose bucket has refilled: they are indistinguishable from new ones."""
        full = [p for p, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.capacity]
        for person in full:
            del self._buckets[person]
