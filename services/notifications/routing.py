"""Who must know about an event, as a table of rules. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from shared.auth import Principal
from shared.events.payloads import (
    AllocationApproved,
    AllocationDelivered,
    AllocationDispatched,
    AllocationProposed,
    AllocationReleased,
    DonorStatementIssued,
    Payload,
    RequestStatusChanged,
    RequestSubmitted,
    RequestWaitlisted,
)
from shared.events.registry import event_type_for

AudienceKind = Literal["coordinators", "region", "donor"]
AUDIENCE_KINDS: tuple[AudienceKind, ...] = get_args(AudienceKind)
COORDINATORS = "coordinators"


def _always(_: Any) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    """Tell this audience about events of this type (when ``when`` holds), with this template."""

    event: type[Payload]
    to: AudienceKind
    template: str
    when: Callable[[Any], bool] = _always

    @property
    def event_name(self) -> str:
        """The contract name of the event type, e.g. ``allocation.proposed``."""
        return event_type_for(self.event).name


# SPEC §5 "Who is told". One rule per (event type, audience); templates live in templates/<locale>/.
RULES: tuple[Rule, ...] = (
    # Coordinators: what needs a decision or attention.
    Rule(RequestSubmitted, "coordinators", "critical_request", when=lambda p: p.priority == "critical"),
    Rule(AllocationProposed, "coordinators", "proposal_awaiting_approval"),
    Rule(RequestWaitlisted, "coordinators", "request_waitlisted"),
    Rule(AllocationDelivered, "coordinators", "delivery_recorded"),  # names units rejected on delivery
    # Region admins: every status change of their region's requests, and what is on its way to them.
    Rule(RequestStatusChanged, "region", "request_status_changed"),
    Rule(AllocationDispatched, "region", "shipment_on_its_way"),
    # Donors: their lots, from proposal to the fulfilment notice.
    Rule(AllocationProposed, "donor", "lot_proposed"),
    Rule(AllocationApproved, "donor", "allocation_approved"),
    Rule(AllocationDispatched, "donor", "dispatch_recorded"),
    Rule(AllocationDelivered, "donor", "fulfilment_notice"),
    Rule(AllocationReleased, "donor", "allocation_released"),  # approved, then no longer needed
    Rule(DonorStatementIssued, "donor", "monthly_statement"),  # e-mail attaches the PDF (attachments.py)
)

ROUTED_TYPES: tuple[type[Payload], ...] = tuple(dict.fromkeys(rule.event for rule in RULES))


@dataclass(frozen=True)
class Notice:
    """One message to write for one audience: which template, about which event."""

    audience: str
    template: str
    payload: Payload


def audience_for(kind: AudienceKind, payload: Any) -> str:
    """The audience name: ``coordinators``, ``region:UA-63`` or ``donor:<donor_id>``."""
    if kind == "coordinators":
        return COORDINATORS
    if kind == "region":
        return f"region:{payload.region}"
    return f"donor:{payload.donor_id}"


def audience_of(principal: Principal) -> str:
    """The one inbox audience a caller reads (by role and scope)."""
    if principal.sees_everything:
        return COORDINATORS
    if principal.role == "region_admin":
        return f"region:{principal.region}"
    return f"donor:{principal.donor_id}"


def kind_of(principal: Principal) -> AudienceKind:
    """The audience kind of a caller."""
    if principal.sees_everything:
        return "coordinators"
    return "region" if principal.role == "region_admin" else "donor"


def notices_for(payload: Payload) -> list[Notice]:
    """The notices an event causes (an empty list: nobody needs to know)."""
    return [
        Notice(audience_for(rule.to, payload), rule.template, payload)
        for rule in RULES
        if isinstance(payload, rule.event) and rule.when(payload)
    ]


def event_names_for(kind: AudienceKind) -> list[str]:
    """The event types an audience kind can be told about (what a subscription may filter on)."""
    return list(dict.fromkeys(rule.event_name for rule in RULES if rule.to == kind))
