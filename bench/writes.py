"""The ceiling of any write endpoint: one row and one outbox row committed in one transaction.

Uses the services' own machinery (`shared.db.Database`, `shared.outbox.emit`, the real
`request.submitted` payload), so the only thing missing from a real endpoint is its logic.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import Database, UTCDateTime
from shared.events.payloads import Facility, RequestSubmitted
from shared.outbox import OutboxRecord, emit


class _Base(DeclarativeBase):
    """A registry of its own: bench tables never join the services' SQLModel metadata."""


class BenchRequest(_Base):
    """A request-shaped row (what the requests service stores for a submission, minus its logic)."""

    __tablename__ = "bench_requests"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(sa.String(8))
    category: Mapped[str] = mapped_column(sa.String(40))
    quantity: Mapped[int]
    body: Mapped[str] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


async def create_tables(db: Database) -> None:
    """The bench table and the services' outbox table (a bench database only, never a service's)."""
    async with db.engine.begin() as connection:
        await connection.run_sync(_Base.metadata.create_all)
        await connection.run_sync(lambda sync: OutboxRecord.__table__.create(sync, checkfirst=True))  # type: ignore[attr-defined]


SAMPLE_BODY: dict[str, Any] = {
    "region": "UA-63",
    "settlement": "Харків",
    "facility": {"name": "Водоканал, насосна станція №2", "kind": "water_utility"},
    "category": "generator",
    "specs": {"power_kw": 100, "fuel": ["diesel", "gas"]},
    "quantity": 1,
    "priority": "medium",
    "needed_by": "2026-12-15",
    "justification": "Pumping station without grid power after the strike on 14 November.",
    "contact": {"name": "Олена Коваль", "email": "olena@example.org"},
}


async def write_request(db: Database, body: dict[str, Any]) -> UUID:
    """Insert one request row and its `request.submitted` outbox row in one transaction."""
    request_id, now = uuid4(), datetime.now(UTC)
    async with db.session() as session, session.begin():
        session.add(
            BenchRequest(
                id=request_id,
                region=body["region"],
                category=body["category"],
                quantity=body["quantity"],
                body=json.dumps(body, ensure_ascii=False),
                created_at=now,
            )
        )
        submitted = RequestSubmitted(
            request_id=request_id,
            ref=f"BENCH-{request_id.hex[:10]}",
            region=body["region"],
            settlement=body["settlement"],
            facility=Facility(**body["facility"]),
            category=body["category"],
            specs=body["specs"],
            quantity=body["quantity"],
            priority=body["priority"],
            needed_by=date.fromisoformat(str(body["needed_by"])),
            submitted_at=now,
            created_by="bench",
        )
        emit(session, submitted, source="bench")
    return request_id
