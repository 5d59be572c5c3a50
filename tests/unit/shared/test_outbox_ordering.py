"""The relay never marks an event published after an earlier event of the same key failed."""

from __future__ import annotations

import uuid

from shared.outbox import OutboxRecord, _publishable_ids


def row(row_id: int, key: str) -> OutboxRecord:
    return OutboxRecord(
        id=row_id, event_id=uuid.uuid4(), event_type="t", stream="requests", key=key, payload="{}"
    )


def test_successes_after_a_failure_of_the_same_key_stay_pending() -> None:
    rows = [row(1, "a"), row(2, "b"), row(3, "a"), row(4, "b"), row(5, "a")]
    outcomes = [None, None, RuntimeError("broker"), None, None]
    assert _publishable_ids(rows, outcomes) == [1, 2, 4]


def test_all_successes_are_published() -> None:
    rows = [row(1, "a"), row(2, "a")]
    assert _publishable_ids(rows, [None, None]) == [1, 2]
