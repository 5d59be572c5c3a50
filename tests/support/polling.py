"""Wait for an outcome with a deadline instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool] = bool,
    timeout_s: float = 30.0,
    interval_s: float = 0.05,
    what: str = "condition",
) -> T:
    """Call ``probe`` until ``until(result)`` holds; fail with the last result after the deadline."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while True:
        last = await probe()
        if until(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s}s; last value: {last!r}")
        await asyncio.sleep(interval_s)
