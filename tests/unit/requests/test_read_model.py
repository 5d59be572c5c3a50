"""Property: however allocation events are ordered or repeated, quantities and status come out the same."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.requests.domain import STAGE_RANK, derive_status
from tests.unit.requests.histories import PATHS, Event, fold, histories


@settings(max_examples=300)
@given(history=histories(), data=st.data())
def test_any_order_and_any_repetition_give_the_in_order_result(
    history: tuple[int, list[Event]], data: st.DataObject
) -> None:
    requested, events = history
    in_order = fold(requested, events)
    repeated = events + data.draw(st.lists(st.sampled_from(events), max_size=6) if events else st.just([]))
    shuffled = data.draw(st.permutations(repeated))
    assert fold(requested, shuffled) == in_order
    assert derive_status(fold(requested, shuffled)) == derive_status(in_order)


@settings(max_examples=300)
@given(history=histories())
def test_never_more_units_counted_than_requested(history: tuple[int, list[Event]]) -> None:
    requested, events = history
    for cut in range(len(events) + 1):
        q = fold(requested, events[:cut])
        assert q.committed <= requested
        assert min(q.proposed, q.approved, q.dispatched, q.delivered) >= 0


@settings(max_examples=200)
@given(history=histories())
def test_status_walks_forward_when_events_arrive_in_order(history: tuple[int, list[Event]]) -> None:
    """Without rejections, expiries or releases, status never goes back (SPEC §4's arrow)."""
    requested, events = history
    order = ["submitted", "partially_allocated", "allocated", "approved", "in_delivery", "fulfilled"]
    shrinking = {"rejected", "expired", "released"}
    if any(e.view.stage in shrinking for e in events) or any(
        e.view.stage == "delivered" and e.view.received < e.view.quantity for e in events
    ):
        return
    statuses = [derive_status(fold(requested, events[:cut])) for cut in range(len(events) + 1)]
    ranks = [order.index(s) for s in statuses if s in order]
    assert ranks == sorted(ranks), statuses


def test_stage_ranks_follow_every_legitimate_path() -> None:
    for path in PATHS:
        ranks = [STAGE_RANK[stage] for stage in path]
        assert ranks == sorted(set(ranks)), path
