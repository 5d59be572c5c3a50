"""What the requests service wrote, read straight from its database (its outbox is what it published)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.stack import ServiceStack

OUTBOX = sa.table("outbox", sa.column("id"), sa.column("event_type"), sa.column("payload", sa.Text()))


class RequestsDatabase:
    """Read-only views of the requests service's tables for assertions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def events(
        self, *, event_type: str | None = None, containing: str | None = None
    ) -> list[dict[str, Any]]:
        """Staged or published events (CloudEvents as dicts), oldest first, optionally filtered."""
        statement = sa.select(OUTBOX.c.payload).order_by(OUTBOX.c.id)
        if event_type is not None:
            statement = statement.where(OUTBOX.c.event_type == event_type)
        if containing is not None:
            statement = statement.where(OUTBOX.c.payload.contains(containing, autoescape=True))
        async with self.engine.connect() as connection:
            rows = (await connection.execute(statement)).scalars().all()
        return [json.loads(row) for row in rows]

    async def events_of(self, request_id: str, event_type: str | None = None) -> list[dict[str, Any]]:
        """Events this service published about one request (subject = request id)."""
        return [
            e
            for e in await self.events(event_type=event_type, containing=request_id)
            if e["subject"] == request_id
        ]

    async def requests_matching(self, marker: str) -> int:
        """Requests whose settlement or facility name carries the marker."""
        statement = sa.text(
            "SELECT count(*) FROM requests WHERE settlement LIKE :pattern OR facility_name LIKE :pattern"
        )
        async with self.engine.connect() as connection:
            return int((await connection.execute(statement, {"pattern": f"%{marker}%"})).scalar_one())


@pytest.fixture(scope="session")
async def requests_db(stack: ServiceStack) -> AsyncIterator[RequestsDatabase]:
    engine = create_async_engine(stack.database_url("requests"))
    try:
        yield RequestsDatabase(engine)
    finally:
        await engine.dispose()
