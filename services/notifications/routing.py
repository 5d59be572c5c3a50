"""Who must know about an event, and what to tell them. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import Principal
from shared.events.payloads import Payload, RequestWaitlisted

COORDINATORS = "coordinators"


@dataclass(frozen=True)
class Notice:
    """One message for one audience."""

    audience: str
    title: str
    body: str


def audiences_of(principal: Principal) -> list[str]:
    """The inbox audiences a caller reads."""
    if principal.sees_everything:
        return [COORDINATORS]
    if principal.role == "region_admin":
        return [f"region:{principal.region}"]
    return [f"donor:{principal.donor_id}"]


def notices_for(payload: Payload) -> list[Notice]:
    """The notices an event causes (an empty list: nobody needs to know)."""
    if isinstance(payload, RequestWaitlisted):
        body = (
            f"Request {payload.ref} ({payload.region}, {payload.category}, priority {payload.priority}) "
            f"is waitlisted: {payload.unmet_quantity} unit(s) unmet. {payload.reason}."
        )
        return [
            Notice(COORDINATORS, f"{payload.ref} waitlisted", body),
            Notice(f"region:{payload.region}", f"{payload.ref} waitlisted", body),
        ]
    return []
