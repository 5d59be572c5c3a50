"""wait_or_stop: the whole wait unless stopping (or woken), and True exactly when stopping."""

from __future__ import annotations

import asyncio
import time

from shared.stopping import wait_or_stop

LONG_S = 30.0  # never waited out: each of these tests ends in milliseconds or fails on this bound


async def test_waits_the_whole_time_when_nothing_is_set() -> None:
    started = time.monotonic()
    assert await wait_or_stop(asyncio.Event(), 0.05) is False
    assert time.monotonic() - started >= 0.04


async def test_returns_true_at_once_when_already_stopping() -> None:
    stopping = asyncio.Event()
    stopping.set()
    started = time.monotonic()
    assert await wait_or_stop(stopping, LONG_S) is True
    assert time.monotonic() - started < LONG_S / 2


async def test_returns_true_as_soon_as_stopping_is_set() -> None:
    stopping = asyncio.Event()
    asyncio.get_running_loop().call_soon(stopping.set)
    started = time.monotonic()
    assert await wait_or_stop(stopping, LONG_S) is True
    assert time.monotonic() - started < LONG_S / 2


async def test_a_wake_ends_the_wait_without_meaning_stop_and_leaves_no_task_behind() -> None:
    stopping, wake = asyncio.Event(), asyncio.Event()
    asyncio.get_running_loop().call_soon(wake.set)
    before = asyncio.all_tasks()
    started = time.monotonic()
    assert await wait_or_stop(stopping, LONG_S, wake=wake) is False
    assert time.monotonic() - started < LONG_S / 2
    deadline = time.monotonic() + 5.0  # the cancelled waiter finishes within a loop iteration or two
    while asyncio.all_tasks() - before and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert asyncio.all_tasks() - before == set()


async def test_stopping_wins_over_a_wake() -> None:
    stopping, wake = asyncio.Event(), asyncio.Event()
    asyncio.get_running_loop().call_soon(stopping.set)
    assert await wait_or_stop(stopping, LONG_S, wake=wake) is True


async def test_with_a_wake_it_still_waits_the_whole_time_when_nothing_is_set() -> None:
    started = time.monotonic()
    assert await wait_or_stop(asyncio.Event(), 0.05, wake=asyncio.Event()) is False
    assert time.monotonic() - started >= 0.04
