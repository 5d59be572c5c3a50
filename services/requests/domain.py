"""Pure request logic: status derived from quantities, allocation stages, tracking references. No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from shared.events import payloads as p
from shared.events.payloads import RequestStatus

TERMINAL_STATUSES: frozenset[RequestStatus] = frozenset({"fulfilled", "cancelled", "closed"})

Stage = Literal["proposed", "rejected", "expired", "approved", "released", "dispatched", "delivered"]

# A stage only moves forward. Every legitimate path (proposed → approved → dispatched → delivered;
# proposed → rejected | expired; approved → released) climbs this order, so the stage with the highest
# rank seen is the allocation's current one whatever order its events arrive in.
STAGE_RANK: dict[Stage, int] = {
    "proposed": 10,
    "rejected": 15,
    "expired": 15,
    "approved": 20,
    "released": 25,
    "dispatched": 30,
    "delivered": 40,
}

STAGE_OF_EVENT: dict[type[p.AllocationEvent], Stage] = {
    p.AllocationProposed: "proposed",
    p.AllocationRejected: "rejected",
    p.AllocationExpired: "expired",
    p.AllocationApproved: "approved",
    p.AllocationReleased: "released",
    p.AllocationDispatched: "dispatched",
    p.AllocationDelivered: "delivered",
}


@dataclass(frozen=True)
class Quantities:
    """Units of one request by stage; each unit is counted in at most one stage."""

    requested: int
    proposed: int = 0
    approved: int = 0
    dispatched: int = 0
    delivered: int = 0
    waitlisted: int = 0

    @property
    def committed(self) -> int:
        """Units proposed or beyond."""
        return self.proposed + self.approved + self.dispatched + self.delivered


@dataclass(frozen=True)
class AllocationView:
    """What the requests service knows of one allocation: its furthest stage and its units."""

    quantity: int
    stage: Stage
    received: int = 0  # delivered stage only: units accepted; the rest were rejected on arrival

    def advanced_by(self, incoming: AllocationView) -> AllocationView:
        """The view after another event of this allocation: the furthest stage wins, a tie keeps the first."""
        return incoming if STAGE_RANK[incoming.stage] > STAGE_RANK[self.stage] else self


def advance(current: AllocationView | None, incoming: AllocationView) -> AllocationView:
    """The allocation's view once an event arrives: the first one seen, or the furthest stage."""
    return incoming if current is None else current.advanced_by(incoming)


def view_of(payload: p.AllocationEvent) -> AllocationView:
    """The allocation view an event describes."""
    stage = STAGE_OF_EVENT[type(payload)]
    received = payload.received_quantity if isinstance(payload, p.AllocationDelivered) else 0
    return AllocationView(quantity=payload.quantity, stage=stage, received=received)


def quantities_from(
    requested: int, allocations: Iterable[AllocationView], *, waitlisted_reported: int, cancelled: bool
) -> Quantities:
    """Sum the allocations by stage; units rejected on delivery return to unmet.

    ``waitlisted_reported`` is the allocation service's newest snapshot of units it could not serve; it
    is capped by what is unmet now, so a later proposal covering those units is not counted twice.
    """
    by_stage = dict.fromkeys(("proposed", "approved", "dispatched", "delivered"), 0)
    for allocation in allocations:
        if allocation.stage == "delivered":
            by_stage["delivered"] += allocation.received
        elif allocation.stage in by_stage:
            by_stage[allocation.stage] += allocation.quantity
    q = Quantities(requested=requested, **by_stage)
    unmet = max(requested - q.committed, 0)
    return replace(q, waitlisted=0 if cancelled else min(waitlisted_reported, unmet))


def derive_status(q: Quantities, *, cancelled: bool = False) -> RequestStatus:
    """The request status of SPEC §4, a function of its quantities."""
    if q.delivered >= q.requested:
        return "fulfilled"
    if cancelled:
        return "closed" if q.delivered > 0 else "cancelled"
    if q.dispatched + q.delivered > 0:
        return "in_delivery"
    if q.approved >= q.requested:
        return "approved"
    if q.committed >= q.requested:
        return "allocated"
    if q.committed > 0:
        return "partially_allocated"
    if q.waitlisted > 0:
        return "waitlisted"
    return "submitted"


def format_ref(region: str, year: int, number: int) -> str:
    """Human tracking code, e.g. ``UA63-2026-000123``."""
    return f"{region.replace('-', '')}-{year}-{number:06d}"


def search_text(*texts: str) -> str:
    """What free-text search matches against: the texts folded to one case, one per line."""
    return "\n".join(text.casefold() for text in texts)


def search_key(query: str) -> str:
    """A search query folded as ``search_text`` folds what it searches."""
    return query.strip().casefold()


def summarize(payload: p.Payload) -> str:
    """One line for a request's timeline."""
    match payload:
        case p.AllocationProposed():
            return (
                f"{payload.quantity} unit(s) proposed from lot {payload.lot_id} of {payload.donor_id}: "
                f"{payload.reason}"
            )
        case p.AllocationApproved():
            return f"{payload.quantity} unit(s) from {payload.donor_id} approved by {payload.approved_by}"
        case p.AllocationRejected():
            return (
                f"Proposal of {payload.quantity} unit(s) rejected by {payload.rejected_by}: {payload.reason}"
            )
        case p.AllocationExpired():
            return f"Proposal of {payload.quantity} unit(s) expired without approval"
        case p.AllocationReleased():
            return f"{payload.quantity} approved unit(s) released: {payload.reason}"
        case p.AllocationDispatched():
            via = ", ".join(
                part
                for part in (
                    payload.carrier and f"carrier {payload.carrier}",
                    payload.waybill and f"waybill {payload.waybill}",
                    payload.eta and f"ETA {payload.eta.isoformat()}",
                )
                if part
            )
            return f"{payload.quantity} unit(s) dispatched by {payload.donor_id}" + (
                f" ({via})" if via else ""
            )
        case p.AllocationDelivered():
            text = f"{payload.received_quantity} of {payload.quantity} unit(s) received"
            if payload.rejected_quantity:
                text += f", {payload.rejected_quantity} rejected on arrival"
            return text + (f": {payload.note}" if payload.note else "")
        case p.RequestWaitlisted():
            return f"{payload.unmet_quantity} unit(s) waitlisted: {payload.reason}"
        case p.RequestSubmitted():
            return f"Request {payload.ref} submitted for {payload.quantity} unit(s)"
        case p.RequestUpdated():
            return (
                f"Priority changed from {payload.previous_priority} to {payload.priority} "
                f"by {payload.updated_by}"
            )
        case p.RequestCancelled():
            return f"Request {payload.status} by {payload.cancelled_by}: {payload.reason}"
        case p.RequestFulfilled():
            return f"Fulfilled: all {payload.delivered_quantity} unit(s) delivered"
        case _:
            return type(payload).__name__
