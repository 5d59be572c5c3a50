"""Pure request logic: status derived from quantities, tracking references. No I/O."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.payloads import RequestStatus

TERMINAL_STATUSES: frozenset[RequestStatus] = frozenset({"fulfilled", "cancelled", "closed"})


@dataclass(frozen=True)
class Quantities:
    """Units of one request by stage; each unit is counted in exactly one stage."""

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


def derive_status(q: Quantities, *, cancelled: bool = False) -> RequestStatus:
    """The request status of SPEC §4, a function of its quantities."""
    if cancelled:
        return "closed" if q.delivered > 0 else "cancelled"
    if q.delivered >= q.requested:
        return "fulfilled"
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
