"""Use cases of the allocation lifecycle (SPEC §4): approve, reject, dispatch, deliver, expire, release.

Each runs in its caller's transaction and takes the category's lock first (``locks.lock_category``):
every write to a category's lots, demands and allocations is serialised across instances, so a
transition and a matching run never interleave. The status, the lot's and the demand's counters and
the ``allocation.*`` event change together or not at all; returned units are re-matched at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation import ledger
from services.allocation.domain import (
    RELEASABLE,
    AllocationStatus,
    check_transition,
    may_confirm_delivery,
    may_dispatch,
    may_read_allocation,
    unit_moves,
)
from services.allocation.donors import find_donor
from services.allocation.events import SOURCE, allocation_event
from services.allocation.locks import lock_category
from services.allocation.models import Allocation, Demand, Lot
from services.allocation.rematch import MatchOutcome, rematch
from services.allocation.settings import Policy
from shared.auth import Principal
from shared.db import utcnow
from shared.events import payloads as p
from shared.events.envelope import CloudEvent
from shared.outbox import emit
from shared.problems import Problem, invalid_field


@dataclass(frozen=True)
class Shipment:
    """What a donor records when dispatching."""

    waybill: str | None = None
    carrier: str | None = None
    eta: date | None = None
    serials: tuple[str, ...] = ()


@dataclass(frozen=True)
class Receipt:
    """What the receiving region records on delivery."""

    received_quantity: int
    rejected_quantity: int = 0
    note: str | None = None


@dataclass(frozen=True)
class Moved:
    """An allocation after a transition, the request it serves, and what re-matching then proposed."""

    allocation: Allocation
    demand: Demand
    rematched: MatchOutcome = field(default_factory=MatchOutcome)


async def approve(*, session: AsyncSession, allocation_id: UUID, principal: Principal) -> Moved:
    """A coordinator approves a proposal; its units stay committed and can no longer expire."""
    allocation, demand = await _locked(session, allocation_id, principal)
    now = utcnow()
    await _advance(session, allocation, "approved", now=now, approved_at=now, approved_by=principal.sub)
    emit(
        session,
        allocation_event(
            p.AllocationApproved,
            allocation,
            demand,
            await find_donor(session, allocation.donor_id),
            approved_by=principal.sub,
        ),
        source=SOURCE,
    )
    return Moved(allocation, demand)


async def reject(
    *, session: AsyncSession, allocation_id: UUID, reason: str, principal: Principal, policy: Policy
) -> Moved:
    """A coordinator rejects a proposal: units return to the lot, the request is matched again elsewhere."""
    allocation, demand = await _locked(session, allocation_id, principal)
    now = utcnow()
    await _advance(
        session,
        allocation,
        "rejected",
        now=now,
        rejected_at=now,
        rejected_by=principal.sub,
        rejection_reason=reason,
    )
    payload = allocation_event(
        p.AllocationRejected,
        allocation,
        demand,
        await find_donor(session, allocation.donor_id),
        reason=reason,
        rejected_by=principal.sub,
    )
    cause = emit(session, payload, source=SOURCE)
    return Moved(
        allocation,
        demand,
        await rematch(session, category=allocation.category, policy=policy, cause=cause, now=now),
    )


async def dispatch(
    *, session: AsyncSession, allocation_id: UUID, shipment: Shipment, principal: Principal
) -> Moved:
    """The donor owning the lot (or a coordinator) records an approved allocation as shipped."""
    allocation, demand = await _locked(session, allocation_id, principal)
    if not may_dispatch(principal, donor_id=allocation.donor_id):
        raise Problem(
            403, "Forbidden", f"only donor {allocation.donor_id!r} or a coordinator may dispatch this"
        )
    check_transition(allocation.status, "dispatched")
    if len(shipment.serials) > allocation.quantity:
        raise invalid_field(
            "body.serials", f"more serial numbers than the {allocation.quantity} unit(s) shipped"
        )
    now = utcnow()
    await _advance(
        session,
        allocation,
        "dispatched",
        now=now,
        dispatched_at=now,
        dispatched_by=principal.sub,
        waybill=shipment.waybill,
        carrier=shipment.carrier,
        eta=shipment.eta,
        serials=list(shipment.serials),
    )
    details = {
        "waybill": shipment.waybill,
        "carrier": shipment.carrier,
        "eta": shipment.eta,
        "serials": list(shipment.serials),
    }
    donor = await find_donor(session, allocation.donor_id)
    payload = allocation_event(p.AllocationDispatched, allocation, demand, donor, **details)
    emit(session, payload, source=SOURCE)
    return Moved(allocation, demand)


async def deliver(
    *, session: AsyncSession, allocation_id: UUID, receipt: Receipt, principal: Principal, policy: Policy
) -> Moved:
    """The receiving region records what arrived; refused units make the request's demand unmet again."""
    allocation, demand = await _locked(session, allocation_id, principal)
    if not may_confirm_delivery(principal, region=allocation.region):
        raise Problem(
            403, "Forbidden", f"only {allocation.region}'s region admin or a coordinator may confirm this"
        )
    check_transition(allocation.status, "delivered")
    _check_receipt(receipt, allocation.quantity)
    now = utcnow()
    await _advance(
        session,
        allocation,
        "delivered",
        now=now,
        delivered_at=now,
        delivered_by=principal.sub,
        received_quantity=receipt.received_quantity,
        rejected_quantity=receipt.rejected_quantity,
        delivery_note=receipt.note,
    )
    payload = allocation_event(
        p.AllocationDelivered,
        allocation,
        demand,
        await find_donor(session, allocation.donor_id),
        received_quantity=receipt.received_quantity,
        rejected_quantity=receipt.rejected_quantity,
        note=receipt.note,
        serials=allocation.serials,
        waybill=allocation.waybill,
    )
    cause = emit(session, payload, source=SOURCE)
    if receipt.rejected_quantity == 0 or not demand.open:
        return Moved(allocation, demand)
    return Moved(
        allocation,
        demand,
        await rematch(session, category=allocation.category, policy=policy, cause=cause, now=now),
    )


def _check_receipt(receipt: Receipt, quantity: int) -> None:
    if receipt.received_quantity + receipt.rejected_quantity != quantity:
        raise invalid_field(
            "body.received_quantity",
            f"received ({receipt.received_quantity}) + rejected ({receipt.rejected_quantity}) units"
            f" must equal the allocation's quantity ({quantity})",
        )
    if receipt.rejected_quantity and not receipt.note:
        raise invalid_field("body.note", "say why units were rejected (damaged, wrong model, …)")


async def expire_due(
    *, session: AsyncSession, category: str, now: datetime, policy: Policy
) -> tuple[list[Allocation], MatchOutcome]:
    """Expire the category's proposals whose TTL passed by ``now``; their units are matched again."""
    await lock_category(session, category)
    due = await session.exec(
        select(Allocation)
        .where(
            col(Allocation.category) == category,
            col(Allocation.status) == "proposed",
            col(Allocation.expires_at) <= now,
        )
        .order_by(col(Allocation.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    expired = list(due.all())
    for allocation in expired:
        demand = await _demand_of(session, allocation)
        await _advance(session, allocation, "expired", now=now, expired_at=now)
        payload = allocation_event(
            p.AllocationExpired,
            allocation,
            demand,
            await find_donor(session, allocation.donor_id),
            proposed_at=allocation.created_at,
        )
        emit(session, payload, source=SOURCE)
    if not expired:
        return [], MatchOutcome()
    return expired, await rematch(session, category=category, policy=policy, cause=None, now=now)


async def release_all(
    *, session: AsyncSession, demand: Demand, reason: str, cause: CloudEvent, now: datetime
) -> list[Allocation]:
    """Release every proposed or approved allocation of a cancelled request (caller holds the lock)."""
    held = await session.exec(
        select(Allocation)
        .where(col(Allocation.request_id) == demand.request_id, col(Allocation.status).in_(RELEASABLE))
        .order_by(col(Allocation.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    released = list(held.all())
    for allocation in released:
        await _advance(session, allocation, "released", now=now, released_at=now, release_reason=reason)
        payload = allocation_event(
            p.AllocationReleased,
            allocation,
            demand,
            await find_donor(session, allocation.donor_id),
            reason=reason,
        )
        emit(session, payload, source=SOURCE, caused_by=cause)
    return released


async def _locked(
    session: AsyncSession, allocation_id: UUID, principal: Principal
) -> tuple[Allocation, Demand]:
    """The allocation (404 unless the caller may see it), read after taking its category's lock."""
    category = (
        await session.exec(select(Allocation.category).where(col(Allocation.id) == allocation_id))
    ).one_or_none()
    if category is None:
        raise Problem(404, "Not Found", f"no allocation {allocation_id}")
    await lock_category(session, category)
    allocation = await session.get(Allocation, allocation_id, with_for_update=True, populate_existing=True)
    assert allocation is not None  # allocations are never deleted
    if not may_read_allocation(principal, donor_id=allocation.donor_id, region=allocation.region):
        raise Problem(404, "Not Found", f"no allocation {allocation_id}")
    return allocation, await _demand_of(session, allocation)


async def _demand_of(session: AsyncSession, allocation: Allocation) -> Demand:
    demand = await session.get(Demand, allocation.request_id, populate_existing=True)
    assert demand is not None  # foreign key
    return demand


async def _advance(
    session: AsyncSession, allocation: Allocation, target: AllocationStatus, *, now: datetime, **fields: Any
) -> None:
    """Move the allocation to ``target`` and shift its units on the lot and the demand."""
    current = allocation.status
    check_transition(current, target)
    lot = await session.get(Lot, allocation.lot_id, populate_existing=True)
    assert lot is not None  # foreign key
    moves = unit_moves(
        current,  # type: ignore[arg-type]  # check_transition vouched for it
        target,
        allocation.quantity,
        received=fields.get("received_quantity") or 0,
        lot_withdrawn=lot.withdrawn_at is not None,
    )
    for name, value in fields.items():
        setattr(allocation, name, value)
    allocation.status = target
    allocation.updated_at = now
    await session.flush()
    await ledger.shift(session, lot_id=lot.id, request_id=allocation.request_id, moves=moves)
    if moves.lot_quantity:
        # Units returning to a withdrawn lot go back to the donor, not to the free stock.
        withdrawn = p.InventoryWithdrawn(
            lot_id=lot.id, donor_id=lot.donor_id, withdrawn_quantity=-moves.lot_quantity
        )
        emit(session, withdrawn, source=SOURCE)
