"""The projection's use cases: one upsert per event, each setting only the fields its event carries.

"Latest" fields (a request's priority and status, a lot's quantity) move only to a newer event time
(ties: the greater value) and "last seen" times only forward, all inside one ``INSERT … ON CONFLICT DO
UPDATE``: duplicated, reordered or concurrently handled events leave the same row (SPEC §7.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation.reports.models import ReportAllocation, ReportLot, ReportRequest
from shared.db import dialect_insert
from shared.events.envelope import CloudEvent
from shared.events.payloads import (
    AllocationApproved,
    AllocationDelivered,
    AllocationDispatched,
    AllocationEvent,
    AllocationExpired,
    AllocationProposed,
    AllocationRejected,
    AllocationReleased,
    InventoryAdjusted,
    InventoryRegistered,
    InventoryWithdrawn,
    RequestCancelled,
    RequestStatusChanged,
    RequestSubmitted,
    RequestUpdated,
    RequestWaitlisted,
)

REQUESTS: sa.Table = ReportRequest.__table__  # type: ignore[attr-defined]
ALLOCATIONS: sa.Table = ReportAllocation.__table__  # type: ignore[attr-defined]
LOTS: sa.Table = ReportLot.__table__  # type: ignore[attr-defined]


async def upsert(
    session: AsyncSession,
    table: sa.Table,
    row: dict[str, Any],
    *,
    latest: Sequence[tuple[str, str]] = (),
    greatest: Sequence[str] = (),
) -> None:
    """Insert the row, or set its fields on the existing one: ``latest`` (value, time) pairs and
    ``greatest`` times only where the event is newer."""
    connection = await session.connection()
    insert = dialect_insert(connection)(table).values(**row)
    new, old = insert.excluded, table.c
    (key,) = table.primary_key.columns
    changes: dict[str, Any] = {name: new[name] for name in row if name != key.name}
    for value, at in latest:
        newer = sa.or_(
            old[at].is_(None),
            new[at] > old[at],
            sa.and_(new[at] == old[at], new[value] > old[value]),
        )
        changes[value] = sa.case((newer, new[value]), else_=old[value])
        changes[at] = sa.case((newer, new[at]), else_=old[at])
    for at in greatest:
        changes[at] = sa.case((sa.or_(old[at].is_(None), new[at] > old[at]), new[at]), else_=old[at])
    await connection.execute(insert.on_conflict_do_update(index_elements=[key.name], set_=changes))


# --- request.* --------------------------------------------------------------------------------


async def request_submitted(payload: RequestSubmitted, *, event: CloudEvent, session: AsyncSession) -> None:
    """What was asked for, where, and when (no contact: the projection holds nothing personal)."""
    row = {
        "request_id": payload.request_id,
        "ref": payload.ref,
        "region": payload.region,
        "category": payload.category,
        "settlement": payload.settlement,
        "facility_name": payload.facility.name,
        "facility_kind": payload.facility.kind,
        "quantity": payload.quantity,
        "submitted_at": payload.submitted_at,
        "priority": payload.priority,
        "priority_at": event.time,
    }
    await upsert(session, REQUESTS, row, latest=[("priority", "priority_at")])


async def request_updated(payload: RequestUpdated, *, event: CloudEvent, session: AsyncSession) -> None:
    """A new priority, if no later one was seen."""
    row = {"request_id": payload.request_id, "priority": payload.priority, "priority_at": event.time}
    await upsert(session, REQUESTS, row, latest=[("priority", "priority_at")])


async def request_status_changed(
    payload: RequestStatusChanged, *, event: CloudEvent, session: AsyncSession
) -> None:
    """The requests service's status, if no later one was seen."""
    row = {"request_id": payload.request_id, "status": payload.status, "status_at": event.time}
    await upsert(session, REQUESTS, row, latest=[("status", "status_at")])


async def request_cancelled(payload: RequestCancelled, *, event: CloudEvent, session: AsyncSession) -> None:
    """Cancelled (nothing delivered) or closed short (delivered units stay on record)."""
    row = {"request_id": payload.request_id, "ended_as": payload.status, "ended_at": event.time}
    await upsert(session, REQUESTS, row)


async def request_waitlisted(payload: RequestWaitlisted, *, event: CloudEvent, session: AsyncSession) -> None:
    """Nothing fitted the request's unmet units at this time."""
    row = {"request_id": payload.request_id, "waitlisted_at": event.time}
    await upsert(session, REQUESTS, row, greatest=["waitlisted_at"])


# --- inventory.* ------------------------------------------------------------------------------


async def inventory_registered(
    payload: InventoryRegistered, *, event: CloudEvent, session: AsyncSession
) -> None:
    """A new lot: owner, programme, place, worth and first quantity."""
    row = {
        "lot_id": payload.lot_id,
        "donor_id": payload.donor_id,
        "programme_id": payload.programme_id,
        "category": payload.category,
        "region": payload.location.region,
        "site": payload.location.site,
        "quantity": payload.quantity,
        "quantity_at": event.time,
        "unit_value": payload.unit_value,
        "currency": payload.currency,
        "registered_at": event.time,
        "changed_at": event.time,
    }
    await upsert(session, LOTS, row, latest=[("quantity", "quantity_at")], greatest=["changed_at"])


async def inventory_adjusted(payload: InventoryAdjusted, *, event: CloudEvent, session: AsyncSession) -> None:
    """A new total quantity, if no later one was seen."""
    row = {
        "lot_id": payload.lot_id,
        "donor_id": payload.donor_id,
        "quantity": payload.quantity,
        "quantity_at": event.time,
        "changed_at": event.time,
    }
    await upsert(session, LOTS, row, latest=[("quantity", "quantity_at")], greatest=["changed_at"])


async def inventory_withdrawn(
    payload: InventoryWithdrawn, *, event: CloudEvent, session: AsyncSession
) -> None:
    """The lot's free stock is gone for good."""
    row = {"lot_id": payload.lot_id, "donor_id": payload.donor_id, "withdrawn_at": event.time}
    await upsert(session, LOTS, {**row, "changed_at": event.time}, greatest=["changed_at"])


# --- allocation.* -----------------------------------------------------------------------------


def _allocation(payload: AllocationEvent) -> dict[str, Any]:
    """The fields every allocation event carries (the same in each)."""
    return {
        "allocation_id": payload.allocation_id,
        "request_id": payload.request_id,
        "lot_id": payload.lot_id,
        "donor_id": payload.donor_id,
        "region": payload.region,
        "category": payload.category,
        "settlement": payload.settlement,
        "facility_name": payload.facility.name,
        "quantity": payload.quantity,
    }


async def allocation_proposed(
    payload: AllocationProposed, *, event: CloudEvent, session: AsyncSession
) -> None:
    await upsert(
        session,
        ALLOCATIONS,
        {**_allocation(payload), "proposed_at": event.time, "expires_at": payload.expires_at},
    )


async def allocation_approved(
    payload: AllocationApproved, *, event: CloudEvent, session: AsyncSession
) -> None:
    await upsert(session, ALLOCATIONS, {**_allocation(payload), "approved_at": event.time})


async def allocation_rejected(
    payload: AllocationRejected, *, event: CloudEvent, session: AsyncSession
) -> None:
    await upsert(session, ALLOCATIONS, {**_allocation(payload), "rejected_at": event.time})


async def allocation_expired(payload: AllocationExpired, *, event: CloudEvent, session: AsyncSession) -> None:
    await upsert(session, ALLOCATIONS, {**_allocation(payload), "expired_at": event.time})


async def allocation_released(
    payload: AllocationReleased, *, event: CloudEvent, session: AsyncSession
) -> None:
    await upsert(session, ALLOCATIONS, {**_allocation(payload), "released_at": event.time})


async def allocation_dispatched(
    payload: AllocationDispatched, *, event: CloudEvent, session: AsyncSession
) -> None:
    await upsert(session, ALLOCATIONS, {**_allocation(payload), "dispatched_at": event.time})


async def allocation_delivered(
    payload: AllocationDelivered, *, event: CloudEvent, session: AsyncSession
) -> None:
    row = {
        **_allocation(payload),
        "delivered_at": event.time,
        "received_quantity": payload.received_quantity,
        "rejected_quantity": payload.rejected_quantity,
    }
    await upsert(session, ALLOCATIONS, row)
