"""Which event types exist, their payload model, topic stream and partition key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shared.events import payloads as p


class UnknownEventType(LookupError):
    """An envelope names a type this contract does not define."""


class MalformedEvent(ValueError):
    """Bytes that are not a valid event of a known type."""


@dataclass(frozen=True)
class EventType:
    """One event type of the contract."""

    name: str  # e.g. "allocation.proposed"
    version: int
    payload: type[p.Payload]
    stream: str  # topic suffix: requests | inventory | allocations | notifications | accounts
    key_field: str  # payload field used as the Kafka key and the CloudEvents subject
    # Carries a one-time secret (a sign-in link): the relay deletes its outbox row once published
    # instead of keeping it, so the secret lives in the producer's database only until Kafka has it.
    secret: bool = False

    @property
    def ce_type(self) -> str:
        """The CloudEvents ``type`` attribute, e.g. ``vidnova.allocation.proposed.v1``."""
        return f"vidnova.{self.name}.v{self.version}"


def _types() -> dict[str, EventType]:
    declared = [
        EventType("request.submitted", 1, p.RequestSubmitted, "requests", "request_id"),
        EventType("request.updated", 1, p.RequestUpdated, "requests", "request_id"),
        EventType("request.cancelled", 1, p.RequestCancelled, "requests", "request_id"),
        EventType("request.fulfilled", 1, p.RequestFulfilled, "requests", "request_id"),
        EventType("request.status_changed", 1, p.RequestStatusChanged, "requests", "request_id"),
        # Published by the allocation service on its own stream, ordered with the request's allocations.
        EventType("request.waitlisted", 1, p.RequestWaitlisted, "allocations", "request_id"),
        EventType("inventory.registered", 1, p.InventoryRegistered, "inventory", "lot_id"),
        EventType("inventory.adjusted", 1, p.InventoryAdjusted, "inventory", "lot_id"),
        EventType("inventory.withdrawn", 1, p.InventoryWithdrawn, "inventory", "lot_id"),
        # The registry of donors rides the inventory stream: donors are who inventory belongs to.
        EventType("donor.registered", 1, p.DonorRegistered, "inventory", "donor_id"),
        EventType("donor.updated", 1, p.DonorUpdated, "inventory", "donor_id"),
        EventType("programme.registered", 1, p.ProgrammeRegistered, "inventory", "programme_id"),
        EventType("programme.updated", 1, p.ProgrammeUpdated, "inventory", "programme_id"),
        EventType("allocation.proposed", 1, p.AllocationProposed, "allocations", "request_id"),
        EventType("allocation.approved", 1, p.AllocationApproved, "allocations", "request_id"),
        EventType("allocation.rejected", 1, p.AllocationRejected, "allocations", "request_id"),
        EventType("allocation.expired", 1, p.AllocationExpired, "allocations", "request_id"),
        EventType("allocation.released", 1, p.AllocationReleased, "allocations", "request_id"),
        EventType("allocation.dispatched", 1, p.AllocationDispatched, "allocations", "request_id"),
        EventType("allocation.delivered", 1, p.AllocationDelivered, "allocations", "request_id"),
        # A donor's monthly statement; on the allocations stream, keyed by donor, beside what it sums up.
        EventType("donor.statement_issued", 1, p.DonorStatementIssued, "allocations", "donor_id"),
        EventType("notification.delivered", 1, p.NotificationDelivered, "notifications", "recipient"),
        EventType("notification.failed", 1, p.NotificationFailed, "notifications", "recipient"),
        EventType("account.invited", 1, p.AccountInvited, "accounts", "account_id", secret=True),
        EventType("account.password_reset", 1, p.AccountPasswordReset, "accounts", "account_id", secret=True),
    ]
    return {t.ce_type: t for t in declared}


EVENT_TYPES: Final[dict[str, EventType]] = _types()
_BY_PAYLOAD: Final[dict[type[p.Payload], EventType]] = {t.payload: t for t in EVENT_TYPES.values()}
SECRET_TYPES: Final[frozenset[str]] = frozenset(t.ce_type for t in EVENT_TYPES.values() if t.secret)
STREAMS: Final[tuple[str, ...]] = ("requests", "inventory", "allocations", "notifications", "accounts")


def event_type_for(payload_class: type[p.Payload]) -> EventType:
    """The event type whose payload model is this class."""
    try:
        return _BY_PAYLOAD[payload_class]
    except KeyError:
        raise UnknownEventType(payload_class.__name__) from None


def event_type_of(payload: p.Payload) -> EventType:
    """The event type of a payload instance."""
    return event_type_for(type(payload))


def lookup(ce_type: str) -> EventType:
    """The event type named by a CloudEvents ``type`` attribute."""
    try:
        return EVENT_TYPES[ce_type]
    except KeyError:
        raise UnknownEventType(ce_type) from None
