"""Waiting between rounds of a background loop without delaying its shutdown."""

from __future__ import annotations

import asyncio


async def wait_or_stop(stopping: asyncio.Event, seconds: float, *, wake: asyncio.Event | None = None) -> bool:
    """Wait ``seconds``, less if ``stopping`` (or ``wake``, when given) is set; True when stopping."""
    if wake is None:
        try:
            await asyncio.wait_for(stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stopping.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return stopping.is_set()
