"""Keyset pagination for every list: newest first on ``(created_at, id)``, opaque cursors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from shared.problems import invalid_field

_Row = TypeVar("_Row")
_Keyed = TypeVar("_Keyed", bound="Keyed")


class Keyed(Protocol):
    """A row that lists page on: its creation time and id."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> UUID: ...


def page(statement: SelectOfScalar[_Row], *, limit: int, cursor: str | None) -> SelectOfScalar[_Row]:
    """Restrict a query of one table to the page after ``cursor``, newest first, one row beyond ``limit``."""
    table = statement.column_descriptions[0]["entity"]
    created_at, row_id = table.created_at, table.id
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        statement = statement.where(sa.tuple_(created_at, row_id) < (at, last_id))
    return statement.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)


def where_equal(statement: SelectOfScalar[_Row], *filters: tuple[Any, object]) -> SelectOfScalar[_Row]:
    """Keep the rows whose column equals each given value; a filter whose value is None keeps all."""
    for column, value in filters:
        if value is not None:
            statement = statement.where(column == value)
    return statement


async def fetch_page(
    session: AsyncSession,
    statement: SelectOfScalar[_Keyed],
    *,
    limit: int,
    cursor: str | None,
    populate_existing: bool = False,
) -> tuple[list[_Keyed], str | None]:
    """One page of a table's rows, newest first on ``(created_at, id)``, and the next page's cursor."""
    statement = page(statement, limit=limit, cursor=cursor)
    if populate_existing:
        statement = statement.execution_options(populate_existing=True)
    rows = list((await session.exec(statement)).all())
    return rows[:limit], next_cursor(rows, limit)


def next_cursor(rows: Sequence[Keyed], limit: int) -> str | None:
    """The cursor after the page's last row, when the query found more than ``limit`` rows."""
    return encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    """Opaque cursor pointing after this row."""
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """Inverse of encode_cursor; 422 naming ``query.cursor`` for anything else."""
    try:
        at_text, id_text = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        at, last_id = datetime.fromisoformat(at_text), UUID(id_text)
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise invalid_field("query.cursor", "not a cursor returned by this API") from exc
    if at.tzinfo is None:
        raise invalid_field("query.cursor", "not a cursor returned by this API")
    return at, last_id
