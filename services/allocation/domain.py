"""Pure allocation rules: the lifecycle's legal moves, how units shift between stages, who sees what.

No I/O: plain values in, plain values out, unit-tested without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from shared.auth import Principal

AllocationStatus = Literal[
    "proposed", "approved", "rejected", "expired", "released", "dispatched", "delivered"
]
ALLOCATION_STATUSES: tuple[AllocationStatus, ...] = get_args(AllocationStatus)
DonorKind = Literal["government", "agency", "company", "ngo"]
DONOR_KINDS: tuple[DonorKind, ...] = get_args(DonorKind)
Counter = Literal["proposed", "approved", "dispatched", "delivered", "rejected_on_delivery"]

# SPEC §4: proposed → approved → dispatched → delivered; proposed → rejected | expired;
# approved → released on cancellation — and a proposal is released too when its request is cancelled
# (SPEC §4: "everything not dispatched is released").
TRANSITIONS: Mapping[AllocationStatus, frozenset[AllocationStatus]] = {
    "proposed": frozenset({"approved", "rejected", "expired", "released"}),
    "approved": frozenset({"dispatched", "released"}),
    "dispatched": frozenset({"delivered"}),
    "rejected": frozenset(),
    "expired": frozenset(),
    "released": frozenset(),
    "delivered": frozenset(),
}
# Statuses holding units of a lot and of a demand; the others gave their units back.
HOLDING: frozenset[AllocationStatus] = frozenset({"proposed", "approved", "dispatched"})
RELEASABLE: tuple[AllocationStatus, ...] = ("proposed", "approved")


class IllegalTransition(Exception):
    """The allocation is not in a status from which this move is allowed."""

    def __init__(self, current: str, target: AllocationStatus) -> None:
        super().__init__(f"an allocation that is {current} cannot become {target}")
        self.current = current
        self.target = target


def check_transition(current: str, target: AllocationStatus) -> None:
    """Raise IllegalTransition unless SPEC §4 allows ``current`` → ``target``."""
    if current not in TRANSITIONS or target not in TRANSITIONS[current]:  # type: ignore[index]
        raise IllegalTransition(current, target)


@dataclass(frozen=True)
class UnitMoves:
    """Changes to the stage counters of a lot and of a demand caused by one transition."""

    lot: Mapping[Counter, int]
    demand: Mapping[Counter, int]
    lot_quantity: int = 0  # units leaving a withdrawn lot for good


def unit_moves(
    current: AllocationStatus,
    target: AllocationStatus,
    quantity: int,
    *,
    received: int = 0,
    lot_withdrawn: bool = False,
) -> UnitMoves:
    """How an allocation of ``quantity`` units moving ``current`` → ``target`` shifts the counters.

    Units that end (rejected, expired, released) return to the lot's free stock and to the demand's unmet
    units; from a withdrawn lot they leave with the donor instead. Units refused on delivery stay out of
    the lot's free stock (damaged or wrong) but are unmet again for the demand.
    """
    check_transition(current, target)
    source: Counter = current  # type: ignore[assignment]  # every status a move starts from is a counter
    if target == "delivered":
        refused = quantity - received
        lot: dict[Counter, int] = {
            "dispatched": -quantity,
            "delivered": received,
            "rejected_on_delivery": refused,
        }
        return UnitMoves(lot=lot, demand={"dispatched": -quantity, "delivered": received})
    if target in HOLDING:
        moved: dict[Counter, int] = {source: -quantity, target: quantity}  # type: ignore[dict-item]
        return UnitMoves(lot=moved, demand=moved)
    returned: dict[Counter, int] = {source: -quantity}
    return UnitMoves(lot=returned, demand=returned, lot_quantity=-quantity if lot_withdrawn else 0)


@dataclass(frozen=True)
class LotQuantities:
    """A lot's units by stage, as SPEC §4 names them (plus the units refused on delivery)."""

    total: int
    free: int
    proposed: int
    approved: int
    dispatched: int
    delivered: int
    rejected_on_delivery: int

    @property
    def committed(self) -> int:
        """Units a quantity adjustment may not go below."""
        return self.proposed + self.approved + self.dispatched + self.delivered + self.rejected_on_delivery


def waitlist_reason(*, category: str, quantity: int, uncovered: int) -> str:
    """Why a request has units that no free stock serves now."""
    lack = f"no free {category} stock that fits its specifications and region is left for them"
    covered = quantity - uncovered
    if covered:
        return f"{covered} of {quantity} unit(s) covered; {uncovered} waiting: {lack}"
    return (
        f"{uncovered} unit(s) waiting: {lack}; matching runs again whenever stock is registered or returned"
    )


def may_read_lot(principal: Principal, *, donor_id: str) -> bool:
    """Coordinators and admins read every lot; a donor only its own."""
    return principal.sees_everything or (principal.role == "donor" and principal.donor_id == donor_id)


def may_read_allocation(principal: Principal, *, donor_id: str, region: str) -> bool:
    """Coordinators and admins read every allocation; donors their own; region admins their region's."""
    if principal.sees_everything:
        return True
    if principal.role == "donor":
        return principal.donor_id == donor_id
    return principal.role == "region_admin" and principal.region == region


def may_dispatch(principal: Principal, *, donor_id: str) -> bool:
    """SPEC §5: the donor owning the lot, or a coordinator (admins can do what coordinators can)."""
    return principal.sees_everything or (principal.role == "donor" and principal.donor_id == donor_id)


def may_confirm_delivery(principal: Principal, *, region: str) -> bool:
    """SPEC §5: the region admin of the request's region, or a coordinator."""
    return principal.sees_everything or (principal.role == "region_admin" and principal.region == region)


def may_read_donor(principal: Principal, *, donor_id: str) -> bool:
    """Coordinators and admins read every donor and programme; a donor only its own."""
    return principal.sees_everything or (principal.role == "donor" and principal.donor_id == donor_id)
