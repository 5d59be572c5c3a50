"""Keyset pages of any table: newest first, stable cursors, optional equality filters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, UTCDateTime
from shared.pagination import fetch_page, where_equal
from shared.problems import Problem

START = datetime(2026, 12, 1, tzinfo=UTC)


class Parcel(SQLModel, table=True):
    __tablename__ = "test_pagination_parcels"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    colour: str
    created_at: datetime = Field(sa_type=UTCDateTime)


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'pages.db'}")
    async with db.engine.begin() as connection:
        await connection.run_sync(Parcel.metadata.create_all, tables=[Parcel.__table__])  # type: ignore[list-item]
    async with db.session() as session:
        # Two rows share a creation time: the id breaks the tie, so no row is skipped or repeated.
        times = [START + timedelta(minutes=i // 2) for i in range(9)]
        session.add_all(Parcel(colour="red" if i % 3 else "blue", created_at=t) for i, t in enumerate(times))
        await session.commit()
        yield session
    await db.dispose()


async def test_pages_walk_every_row_once_newest_first(session: AsyncSession) -> None:
    seen: list[Parcel] = []
    cursor: str | None = None
    while True:
        rows, cursor = await fetch_page(session, select(Parcel), limit=4, cursor=cursor)
        seen.extend(rows)
        if cursor is None:
            break
    assert len(seen) == 9
    assert len({row.id for row in seen}) == 9
    keys = [(row.created_at, row.id) for row in seen]
    assert keys == sorted(keys, reverse=True)


async def test_the_last_full_page_has_no_next_cursor(session: AsyncSession) -> None:
    rows, cursor = await fetch_page(session, select(Parcel), limit=9, cursor=None)
    assert len(rows) == 9
    assert cursor is None


async def test_filters_with_a_value_apply_and_none_keeps_all(session: AsyncSession) -> None:
    blue, _ = await fetch_page(
        session, where_equal(select(Parcel), (Parcel.colour, "blue")), limit=20, cursor=None
    )
    every, _ = await fetch_page(
        session, where_equal(select(Parcel), (Parcel.colour, None)), limit=20, cursor=None
    )
    assert {row.colour for row in blue} == {"blue"}
    assert len(blue) == 3
    assert len(every) == 9


async def test_a_cursor_not_from_this_api_names_the_query_field(session: AsyncSession) -> None:
    with pytest.raises(Problem) as caught:
        await fetch_page(session, select(Parcel), limit=4, cursor="not-a-cursor")
    assert caught.value.status == 422
    assert "query.cursor" in str(caught.value.extensions)
