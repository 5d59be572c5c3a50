"""Which events of a consumer batch a batch handler gets together: consecutive ones, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from shared.processed_events import BatchHandler, ConsumedEvent, runs_by_batch_handler


async def _alone(payload: Any, *, event: Any, session: Any) -> None:
    """A handler without a batch counterpart."""


async def _together(consumed: Sequence[tuple[Any, Any]], *, session: Any) -> None:
    """A batch handler."""


async def _other(consumed: Sequence[tuple[Any, Any]], *, session: Any) -> None:
    """Another batch handler."""


def event(name: str, batch: BatchHandler | None) -> ConsumedEvent:
    return ConsumedEvent(cast(Any, None), cast(Any, name), cast(Any, None), _alone, batch)


def names(runs: list[list[ConsumedEvent]]) -> list[list[str]]:
    return [[cast(str, c.event) for c in run] for run in runs]


def test_consecutive_events_of_one_batch_handler_go_together_and_the_rest_alone() -> None:
    fresh = [
        event("a", _together),
        event("b", _together),
        event("c", None),
        event("d", None),
        event("e", _together),
        event("f", _other),
        event("g", _other),
        event("h", _together),
    ]
    assert names(list(runs_by_batch_handler(fresh))) == [
        ["a", "b"], ["c"], ["d"], ["e"], ["f", "g"], ["h"],
    ]  # fmt: skip


def test_no_events_no_runs() -> None:
    assert list(runs_by_batch_handler([])) == []
