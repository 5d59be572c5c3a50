"""Hypothesis strategies: legitimate allocation histories of one request (SPEC §4), in publication order."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from services.requests.domain import AllocationView, Quantities, Stage, advance, quantities_from

# Every legitimate life of an allocation, as the stages its events report in order.
PATHS: list[tuple[Stage, ...]] = [
    ("proposed",),
    ("proposed", "rejected"),
    ("proposed", "expired"),
    ("proposed", "approved"),
    ("proposed", "approved", "released"),
    ("proposed", "approved", "dispatched"),
    ("proposed", "approved", "dispatched", "delivered"),
]


@dataclass(frozen=True)
class Event:
    """An allocation event (``allocation`` numbers the allocation) or, with ``unmet``, a waitlist snapshot."""

    allocation: int
    view: AllocationView
    unmet: int | None = None


@st.composite
def histories(draw: st.DrawFn, *, with_snapshots: bool = False) -> tuple[int, list[Event]]:
    """A request's quantity and its events in publication order; never more units committed than asked."""
    requested = draw(st.integers(1, 12))
    events: list[Event] = []
    left = requested
    for allocation in range(draw(st.integers(0, 5))):
        if left == 0:
            break
        if with_snapshots and draw(st.booleans()):
            events.append(snapshot(draw(st.integers(1, requested))))
        quantity = draw(st.integers(1, left))
        path = draw(st.sampled_from(PATHS))
        received = draw(st.integers(0, quantity))
        if path[-1] not in ("rejected", "expired", "released"):
            left -= quantity
        for stage in path:
            events.append(
                Event(allocation, AllocationView(quantity, stage, received if stage == "delivered" else 0))
            )
    if with_snapshots and draw(st.booleans()):
        events.append(snapshot(draw(st.integers(1, requested))))
    return requested, events


def snapshot(unmet: int) -> Event:
    """A ``request.waitlisted``: any count may be reported (units come back when proposals are rejected)."""
    return Event(-1, AllocationView(0, "proposed"), unmet=unmet)


def fold(requested: int, events: list[Event], *, cancelled: bool = False) -> Quantities:
    """The quantities after these events, applied in this order (the newest snapshot is the last one)."""
    views: dict[int, AllocationView] = {}
    snapshot = 0
    for event in events:
        if event.unmet is not None:
            snapshot = event.unmet
        else:
            views[event.allocation] = advance(views.get(event.allocation), event.view)
    return quantities_from(requested, views.values(), waitlisted_reported=snapshot, cancelled=cancelled)
