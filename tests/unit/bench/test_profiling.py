"""Summaries of py-spy's folded stacks."""

from __future__ import annotations

from bench.profiling import summarize

FOLDED = [
    "<module> (services/requests/__main__.py:6);serve (vidnova/serve.py:23);"
    "Runner.run (asyncio/runners.py:118) 50",
    "<module> (services/requests/__main__.py:6);create_request (services/requests/api.py:97);"
    "_next_number (services/requests/service.py:104) 30",
    "<module> (services/requests/__main__.py:6);create_request (services/requests/api.py:97) 20",
    "Thread._bootstrap (threading.py:995);_connection_worker_thread (aiosqlite/core.py:59) 400",
    "not a folded line",
]


def test_idle_threads_are_left_out_and_shares_are_of_busy_samples() -> None:
    summary = summarize(FOLDED)
    assert summary["busy_samples"] == 100
    assert summary["hottest_leaves"][0] == ("Runner.run (asyncio/runners.py:118)", 0.5)


def test_project_frames_are_ranked_by_time_on_the_stack_without_the_entry_point() -> None:
    frames = dict(summarize(FOLDED)["hottest_project_frames"])
    assert frames["create_request (services/requests/api.py:97)"] == 0.5
    assert frames["_next_number (services/requests/service.py:104)"] == 0.3
    assert not any(frame.startswith(("<module>", "serve")) for frame in frames)


def test_nothing_sampled_is_an_empty_summary() -> None:
    assert summarize([]) == {"busy_samples": 0, "hottest_leaves": [], "hottest_project_frames": []}
