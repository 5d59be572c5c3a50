"""Use cases on the donor registry: register, change, read; writes stage a ``donor.*`` event."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from services.allocation.domain import may_read_donor
from services.allocation.events import SOURCE, donor_registered, donor_updated
from services.allocation.models import Donor
from services.allocation.schemas import DonorCreate, DonorPatch
from shared.auth import Principal
from shared.db import utcnow
from shared.identifiers import DONOR_ID_PATTERN
from shared.outbox import emit
from shared.pagination import where_equal
from shared.problems import Problem, invalid_field

_Named = TypeVar("_Named", bound=SQLModel)


async def find_donor(session: AsyncSession, donor_id: str) -> Donor | None:
    """The registered donor with this id, or None (lots may name donors that are not registered)."""
    return await session.get(Donor, donor_id)


async def donors_by_id(session: AsyncSession, donor_ids: Iterable[str]) -> dict[str, Donor]:
    """The registered donors among these ids, in one query."""
    wanted = sorted(set(donor_ids))
    if not wanted:
        return {}
    rows = await session.exec(select(Donor).where(col(Donor.id).in_(wanted)))
    return {donor.id: donor for donor in rows.all()}


async def register_donor(*, session: AsyncSession, body: DonorCreate, principal: Principal) -> Donor:
    """Record a donor and ``donor.registered``; an id already taken is a 409."""
    if await session.get(Donor, body.id) is not None:
        raise Problem(409, "Conflict", f"donor {body.id!r} is already registered")
    now = utcnow()
    donor = Donor(**body.model_dump(mode="json"), created_by=principal.sub, created_at=now, updated_at=now)
    session.add(donor)
    await flush_new(session, what=f"donor {body.id!r}")
    emit(session, donor_registered(donor), source=SOURCE)
    return donor


async def update_donor(*, session: AsyncSession, donor_id: str, body: DonorPatch) -> Donor:
    """Change the fields the body names; ``donor.updated`` when anything differs."""
    changes = named_changes(body.model_dump(mode="json", exclude_unset=True))
    donor = await session.get(Donor, donor_id, with_for_update=True, populate_existing=True)
    if donor is None:
        raise Problem(404, "Not Found", f"no donor {donor_id}")
    changed = apply_changes(donor, changes)
    if changed:
        donor.updated_at = utcnow()
        await session.flush()
        emit(session, donor_updated(donor, changed=changed), source=SOURCE)
    return donor


async def flush_new(session: AsyncSession, *, what: str) -> None:
    """Write a new row; a concurrent registration of the same id (its primary key) is a 409."""
    try:
        await session.flush()
    except sa.exc.IntegrityError as exc:
        raise Problem(409, "Conflict", f"{what} is already registered") from exc


def named_changes(fields: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body's fields; a body naming none is a 422."""
    if not fields:
        raise invalid_field("body", "name at least one field to change")
    return fields


def apply_changes(row: SQLModel, changes: dict[str, Any]) -> list[str]:
    """Set each field whose value differs; the names of those that did."""
    changed = []
    for name, value in changes.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.append(name)
    return changed


async def get_visible_donor(*, session: AsyncSession, donor_id: str, principal: Principal) -> Donor:
    """A donor the caller may see; 404 otherwise (other donors are not revealed to a donor)."""
    donor = await session.get(Donor, donor_id, populate_existing=True)
    if donor is None or not may_read_donor(principal, donor_id=donor.id):
        raise Problem(404, "Not Found", f"no donor {donor_id}")
    return donor


async def list_donors(
    *,
    session: AsyncSession,
    principal: Principal,
    kind: str | None,
    country: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Donor], str | None]:
    """Donors by id; a donor sees only itself."""
    own = principal.donor_id if principal.role == "donor" else None
    statement = where_equal(select(Donor), (Donor.id, own), (Donor.kind, kind), (Donor.country, country))
    return await page_by_id(session, statement, Donor, limit=limit, cursor=cursor)


async def page_by_id(
    session: AsyncSession,
    statement: SelectOfScalar[_Named],
    table: type[_Named],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[_Named], str | None]:
    """One page of rows keyed by a text id, in id order, and the next page's cursor."""
    key: Any = getattr(table, "id")  # noqa: B009 (the column, whichever table)
    if cursor is not None:
        statement = statement.where(key > _decode_cursor(cursor))
    rows = list((await session.exec(statement.order_by(key).limit(limit + 1))).all())
    more = len(rows) > limit
    return rows[:limit], _encode_cursor(getattr(rows[limit - 1], "id")) if more else None  # noqa: B009


def _encode_cursor(row_id: str) -> str:
    return base64.urlsafe_b64encode(row_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        row_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, or a non-ASCII cursor
        row_id = ""
    if not re.fullmatch(DONOR_ID_PATTERN, row_id):
        raise invalid_field("query.cursor", "not a cursor this list returned")
    return row_id
