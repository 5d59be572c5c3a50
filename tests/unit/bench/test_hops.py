"""Hop latencies from a request's timeline and the coordinator inbox."""

from __future__ import annotations

from typing import Any

import pytest

from bench.hops import Journey, first_notices, hops, journey

REQUEST = "11111111-1111-1111-1111-111111111111"
ALLOCATION = "22222222-2222-2222-2222-222222222222"


def _request(*entries: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {"id": REQUEST, "timeline": [{"type": t, "at": at, "data": data} for t, at, data in entries]}


def test_journey_reads_submission_and_the_first_outcome() -> None:
    body = _request(
        ("vidnova.request.submitted.v1", "2026-03-01T12:00:00.000Z", {}),
        ("vidnova.request.status_changed.v1", "2026-03-01T12:00:00.050Z", {}),
        ("vidnova.allocation.proposed.v1", "2026-03-01T12:00:00.080Z", {"allocation_id": ALLOCATION}),
        ("vidnova.allocation.proposed.v1", "2026-03-01T12:00:09.000Z", {}),
    )
    j = journey(body)
    assert j.outcome == "allocation.proposed"
    assert j.outcome_at is not None
    assert j.submitted_at is not None
    assert j.outcome_at - j.submitted_at == pytest.approx(0.080)
    assert j.related_ids == frozenset({ALLOCATION})


def test_a_request_still_in_flight_has_no_outcome() -> None:
    j = journey(_request(("vidnova.request.submitted.v1", "2026-03-01T12:00:00+00:00", {})))
    assert j.outcome is None
    assert j.outcome_at is None


def test_the_first_inbox_notice_of_the_outcome_counts_found_by_request_or_allocation_id() -> None:
    j = Journey(REQUEST, 100.0, "allocation.proposed", 100.05, frozenset({ALLOCATION}))
    items = [
        {
            "subject_id": ALLOCATION,
            "type": "vidnova.allocation.proposed.v1",
            "created_at": "1970-01-01T00:01:40.2Z",
        },
        {
            "subject_id": REQUEST,
            "type": "vidnova.allocation.proposed.v1",
            "created_at": "1970-01-01T00:01:40.1Z",
        },
        {
            "subject_id": REQUEST,
            "type": "vidnova.request.submitted.v1",
            "created_at": "1970-01-01T00:01:40.01Z",
        },
        {
            "subject_id": "someone-else",
            "type": "vidnova.allocation.proposed.v1",
            "created_at": "1970-01-01T00:00:00Z",
        },
    ]
    assert first_notices(items, [j]) == {REQUEST: pytest.approx(100.1)}


def test_hops_are_durations_between_the_timestamps_and_count_what_is_missing() -> None:
    done = Journey("a", 10.0, "request.waitlisted", 10.02, frozenset())
    unnoticed = Journey("b", 11.0, "allocation.proposed", 11.5, frozenset())
    pending = Journey("c", 12.0, None, None, frozenset())
    result = hops([done, unnoticed, pending], {"a": 10.05})
    assert result.submit_to_outcome == pytest.approx([0.02, 0.5])
    assert result.outcome_to_inbox == pytest.approx([0.03])
    assert result.submit_to_inbox == pytest.approx([0.05])
    assert result.outcomes == {"request.waitlisted": 1, "allocation.proposed": 1}
    assert (result.missing_outcome, result.missing_notice) == (1, 1)
    assert (result.last_outcome_at, result.last_notice_at) == (11.5, 10.05)
