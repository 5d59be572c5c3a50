"""Use cases on donors' programmes: register, change, read, and the check a lot naming one must pass."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation.domain import may_read_donor
from services.allocation.donors import apply_changes, flush_new, named_changes, page_by_id
from services.allocation.events import SOURCE, programme_registered, programme_updated
from services.allocation.models import Donor, Programme
from services.allocation.schemas import ProgrammeCreate, ProgrammePatch
from shared.auth import Principal
from shared.db import utcnow
from shared.outbox import emit
from shared.pagination import where_equal
from shared.problems import Problem, invalid_field


async def register_programme(
    *, session: AsyncSession, body: ProgrammeCreate, principal: Principal
) -> Programme:
    """Record a programme of a registered donor and ``programme.registered``; a taken id is a 409."""
    donor = await session.get(Donor, body.donor_id)
    if donor is None:
        raise invalid_field("body.donor_id", f"no registered donor {body.donor_id!r}")
    if await session.get(Programme, body.id) is not None:
        raise Problem(409, "Conflict", f"programme {body.id!r} is already registered")
    now = utcnow()
    programme = Programme(
        id=body.id,
        donor_id=donor.id,
        **_columns(body.model_dump(exclude={"id", "donor_id"})),
        created_by=principal.sub,
        created_at=now,
        updated_at=now,
    )
    session.add(programme)
    await flush_new(session, what=f"programme {body.id!r}")
    emit(session, programme_registered(programme, donor), source=SOURCE)
    return programme


async def update_programme(*, session: AsyncSession, programme_id: str, body: ProgrammePatch) -> Programme:
    """Change the fields the body names; ``programme.updated`` when anything differs."""
    changes = named_changes(body.model_dump(exclude_unset=True))
    programme = await session.get(Programme, programme_id, with_for_update=True, populate_existing=True)
    if programme is None:
        raise Problem(404, "Not Found", f"no programme {programme_id}")
    changed_columns = apply_changes(programme, _columns(changes))
    if changed_columns:
        programme.updated_at = utcnow()
        await session.flush()
        donor = await session.get(Donor, programme.donor_id)
        assert donor is not None  # a foreign key; donors are never deleted
        changed = sorted({_FIELD_OF_COLUMN.get(name, name) for name in changed_columns})
        emit(session, programme_updated(programme, donor, changed=changed), source=SOURCE)
    return programme


_FIELD_OF_COLUMN = {
    "starts_on": "period",
    "ends_on": "period",
    "budget_amount": "budget",
    "budget_currency": "budget",
}


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    """A body's fields as the table's columns: a period and a budget are two columns each."""
    columns = {name: value for name, value in fields.items() if name not in ("period", "budget")}
    if "period" in fields:
        columns.update(starts_on=fields["period"]["start"], ends_on=fields["period"]["end"])
    if "budget" in fields:
        columns.update(budget_amount=fields["budget"]["amount"], budget_currency=fields["budget"]["currency"])
    return columns


async def get_visible_programme(
    *, session: AsyncSession, programme_id: str, principal: Principal
) -> Programme:
    """A programme the caller may see; 404 otherwise (other donors' programmes are not revealed)."""
    programme = await session.get(Programme, programme_id, populate_existing=True)
    if programme is None or not may_read_donor(principal, donor_id=programme.donor_id):
        raise Problem(404, "Not Found", f"no programme {programme_id}")
    return programme


async def list_programmes(
    *, session: AsyncSession, principal: Principal, donor_id: str | None, limit: int, cursor: str | None
) -> tuple[list[Programme], str | None]:
    """Programmes by id; a donor sees only its own (asking for another donor's is a 403)."""
    donor_id = principal.listing_donor(donor_id, of="programmes")
    statement = where_equal(select(Programme), (Programme.donor_id, donor_id))
    return await page_by_id(session, statement, Programme, limit=limit, cursor=cursor)


async def check_lot_programme(session: AsyncSession, *, programme_id: str, donor_id: str) -> None:
    """A lot may name a programme only if it exists and is its donor's: a 422 naming the field otherwise."""
    programme = await session.get(Programme, programme_id)
    # One answer for both cases: a donor learns nothing of other donors' programmes.
    if programme is None or programme.donor_id != donor_id:
        raise invalid_field("body.programme_id", f"donor {donor_id!r} has no programme {programme_id!r}")
