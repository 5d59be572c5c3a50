"""Use cases on donors' lots: register, adjust, withdraw, read; writes stage an ``inventory.*`` event."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation.domain import may_read_lot
from services.allocation.events import SOURCE, registered
from services.allocation.ledger import lot_committed
from services.allocation.locks import lock_category
from services.allocation.models import Lot
from services.allocation.programmes import check_lot_programme
from services.allocation.rematch import MatchOutcome, rematch
from services.allocation.schemas import LotCreate
from services.allocation.settings import Policy
from shared.auth import Principal
from shared.catalog import SpecError, get_category, validate_lot_specs
from shared.db import utcnow
from shared.events.payloads import InventoryAdjusted, InventoryWithdrawn
from shared.fields import check_money_precision
from shared.geography import get_region
from shared.outbox import emit
from shared.pagination import fetch_page, where_equal
from shared.problems import Problem, invalid_field


async def register_lot(
    *, session: AsyncSession, body: LotCreate, principal: Principal, policy: Policy
) -> tuple[Lot, MatchOutcome]:
    """Record a lot and ``inventory.registered``, then offer its stock to waiting requests."""
    donor_id = _donor_of_new_lot(principal, body.donor_id)
    try:
        specs = validate_lot_specs(body.category, body.specs)
    except SpecError as exc:
        raise invalid_field(f"body.{exc.field}", exc.message) from exc
    _check_unit_value(body)
    if body.programme_id is not None:
        await check_lot_programme(session, programme_id=body.programme_id, donor_id=donor_id)
    now = utcnow()
    lot = Lot(
        donor_id=donor_id,
        category=body.category,
        specs=specs,
        quantity=body.quantity,
        location_region=body.location.region,
        location_site=body.location.site,
        available_from=body.available_from or now.date(),
        eligible_regions=sorted(set(body.eligible_regions)) if body.eligible_regions is not None else None,
        notes=body.notes,
        programme_id=body.programme_id,
        unit_value=body.unit_value,
        currency=body.currency,
        created_by=principal.sub,
        created_at=now,
    )
    await lock_category(session, lot.category)
    session.add(lot)
    cause = emit(session, registered(lot), source=SOURCE)
    await session.flush()
    outcome = await rematch(session, category=lot.category, policy=policy, cause=cause, now=now)
    return await _reread(session, lot.id), outcome


def _check_unit_value(body: LotCreate) -> None:
    """A unit value comes with its currency, in that currency's decimal places; a currency with a value."""
    if body.unit_value is None:
        if body.currency is not None:
            raise invalid_field("body.unit_value", "required when currency is given")
        return
    if body.currency is None:
        raise invalid_field("body.currency", "required when unit_value is given")
    problem = check_money_precision(body.unit_value, body.currency)
    if problem is not None:
        raise invalid_field("body.unit_value", problem)


def _donor_of_new_lot(principal: Principal, donor_id: str | None) -> str:
    if principal.role == "donor":
        if donor_id is not None and donor_id != principal.donor_id:
            raise Problem(
                403, "Forbidden", f"donor {principal.donor_id!r} cannot register lots for {donor_id!r}"
            )
        assert principal.donor_id is not None  # a donor token always carries donor_id
        return principal.donor_id
    if donor_id is None:
        raise invalid_field("body.donor_id", "required when a coordinator registers a lot for a donor")
    return donor_id


async def adjust_quantity(
    *, session: AsyncSession, lot_id: UUID, quantity: int, principal: Principal, policy: Policy
) -> tuple[Lot, MatchOutcome]:
    """Set a lot's total; never below what is committed (409 naming it). More stock is matched at once."""
    lot = await _writable_lot(session, lot_id, principal)
    if quantity < lot.committed:
        raise Problem(
            409,
            "Conflict",
            f"lot {lot.id} has {lot.committed} unit(s) committed (proposed, approved, dispatched, delivered"
            f" or refused on delivery); its quantity cannot go below that",
            committed=lot.committed,
        )
    previous = lot.quantity
    if quantity == previous:
        return lot, MatchOutcome()
    changed = await session.execute(
        sa.update(Lot)
        .where(col(Lot.id) == lot.id, lot_committed() <= quantity)
        .values(quantity=quantity)
        .execution_options(synchronize_session=False)
    )
    if int(changed.rowcount) != 1:  # type: ignore[attr-defined]  # the category lock makes this unreachable
        raise Problem(409, "Conflict", f"lot {lot.id} changed concurrently; retry")
    adjusted = InventoryAdjusted(
        lot_id=lot.id, donor_id=lot.donor_id, quantity=quantity, previous_quantity=previous
    )
    cause = emit(session, adjusted, source=SOURCE)
    outcome = MatchOutcome()
    if quantity > previous:
        outcome = await rematch(session, category=lot.category, policy=policy, cause=cause)
    return await _reread(session, lot.id), outcome


async def withdraw_lot(*, session: AsyncSession, lot_id: UUID, principal: Principal) -> Lot:
    """Take the lot's free stock back; committed units stay and go to their requests as planned."""
    lot = await _writable_lot(session, lot_id, principal)
    withdrawn = lot.free
    lot.quantity = lot.committed
    lot.withdrawn_at = utcnow()
    await session.flush()
    emit(
        session,
        InventoryWithdrawn(lot_id=lot.id, donor_id=lot.donor_id, withdrawn_quantity=withdrawn),
        source=SOURCE,
    )
    return lot


async def _writable_lot(session: AsyncSession, lot_id: UUID, principal: Principal) -> Lot:
    """The lot, visible to the caller (404) and not withdrawn (409), read under its category's lock."""
    seen = await get_visible_lot(session=session, lot_id=lot_id, principal=principal)
    await lock_category(session, seen.category)
    lot = await session.get(Lot, lot_id, with_for_update=True, populate_existing=True)
    assert lot is not None  # lots are never deleted
    if lot.withdrawn_at is not None:
        raise Problem(409, "Conflict", f"lot {lot.id} was withdrawn", current_status="withdrawn")
    return lot


async def _reread(session: AsyncSession, lot_id: UUID) -> Lot:
    lot = await session.get(Lot, lot_id, populate_existing=True)
    assert lot is not None
    return lot


async def get_visible_lot(*, session: AsyncSession, lot_id: UUID, principal: Principal) -> Lot:
    """A lot the caller may see; 404 otherwise (another donor's lots are not revealed)."""
    lot = await session.get(Lot, lot_id, populate_existing=True)
    if lot is None or not may_read_lot(principal, donor_id=lot.donor_id):
        raise Problem(404, "Not Found", f"no lot {lot_id}")
    return lot


async def list_lots(
    *,
    session: AsyncSession,
    principal: Principal,
    donor_id: str | None,
    category: str | None,
    region: str | None,
    programme_id: str | None,
    status: str | None,
    available: bool | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Lot], str | None]:
    """Lots newest first; a donor sees only its own."""
    if category is not None and get_category(category) is None:
        raise invalid_field("query.category", f"unknown category {category!r}")
    if region is not None and get_region(region) is None:
        raise invalid_field("query.region", f"unknown region {region!r}")
    donor_id = principal.listing_donor(donor_id, of="lots")
    statement = select(Lot)
    statement = where_equal(
        statement,
        (Lot.donor_id, donor_id),
        (Lot.category, category),
        (Lot.location_region, region),
        (Lot.programme_id, programme_id),
    )
    if status is not None:
        statement = statement.where(
            col(Lot.withdrawn_at).is_(None) if status == "active" else col(Lot.withdrawn_at).is_not(None)
        )
    if available is not None:
        has_free = sa.and_(col(Lot.withdrawn_at).is_(None), lot_committed() < col(Lot.quantity))
        statement = statement.where(has_free if available else sa.not_(has_free))
    return await fetch_page(session, statement, limit=limit, cursor=cursor, populate_existing=True)
