"""Each service's Alembic migrations create exactly the tables its models declare, keeping old rows."""

from __future__ import annotations

import asyncio
import importlib
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from shared.db import is_sqlite
from shared.migrations import alembic_config, upgrade
from shared.processed_events import PROCESSED_EVENTS_TABLE
from shared.settings import ALL_SERVICE_NAMES, SERVICE_NAMES
from tests.conftest import Infra
from tests.support.infra import new_database_url

SHARED_MODULES = ("shared.outbox", "shared.processed_events", "shared.dead_letters")


def tables_of(service: str) -> set[str]:
    """Tables of the models the service's ``models`` module defines or imports, plus the shared ones."""
    models = importlib.import_module(f"services.{service}.models")
    classes = {value for value in vars(models).values() if isinstance(value, type)}
    for module in SHARED_MODULES:
        classes |= {v for v in vars(importlib.import_module(module)).values() if isinstance(v, type)}
    return {
        mapper.local_table.name  # type: ignore[union-attr]
        for mapper in SQLModel._sa_registry.mappers
        if mapper.class_ in classes
    }


@pytest.mark.parametrize("service", ALL_SERVICE_NAMES)
async def test_migrations_match_models(infra: Infra, service: str) -> None:
    url = await new_database_url(infra.database, infra.tmp_dir, f"mig_{service}")
    await asyncio.to_thread(upgrade, service, url)
    wanted = tables_of(service)

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table":
            return name in wanted or (reflected and name != "alembic_version")
        return True

    def diff(connection: sa.Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": include, "compare_type": True, "target_metadata": SQLModel.metadata},
        )
        return compare_metadata(context, SQLModel.metadata)

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == [], f"{service}: models and migrations differ: {differences}"


# Each service's last revision before the consumer's dedupe table was renamed inbox -> processed_events.
BEFORE_PROCESSED_EVENTS = {"requests": "0003", "allocation": "0003", "notifications": "0004"}
OLD_INBOX_TABLE = sa.table(
    "inbox",
    *(sa.column(c.name, c.type) for c in PROCESSED_EVENTS_TABLE.columns),
)


@pytest.mark.parametrize("service", SERVICE_NAMES)
async def test_processed_events_keep_the_rows_of_the_inbox_and_downgrade_back(
    infra: Infra, service: str
) -> None:
    url = await new_database_url(infra.database, infra.tmp_dir, f"ren_{service}")
    before = BEFORE_PROCESSED_EVENTS[service]
    await asyncio.to_thread(upgrade, service, url, before)
    row = {
        "consumer": f"vidnova.{service}",
        "event_id": uuid4(),
        "event_type": "vidnova.request.submitted.v1",
        "topic": "vidnova.requests",
        "partition": 2,
        "offset": 2**40,
        "handled_at": datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    }
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(OLD_INBOX_TABLE.insert(), row)
        await asyncio.to_thread(upgrade, service, url)
        async with engine.connect() as connection:
            kept = (await connection.execute(sa.select(PROCESSED_EVENTS_TABLE))).mappings().all()
            tables = await connection.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
            key = await connection.run_sync(lambda c: sa.inspect(c).get_pk_constraint("processed_events"))
        await asyncio.to_thread(command.downgrade, alembic_config(service, url), before)
        async with engine.connect() as connection:
            restored = (await connection.execute(sa.select(OLD_INBOX_TABLE))).mappings().all()
    finally:
        await engine.dispose()
    assert [dict(r) for r in kept] == [row]
    assert "inbox" not in tables
    assert key["name"] == (None if is_sqlite(url) else "processed_events_pkey")  # SQLite's has no name
    assert [dict(r) for r in restored] == [row]


OLD_DEMANDS = sa.table(
    "demands",
    *(
        sa.column(name)
        for name in (
            *("request_id", "ref", "region", "settlement", "facility_name", "facility_kind", "category"),
            *("specs", "quantity", "priority", "needed_by", "submitted_at", "open", "proposed"),
            *("approved", "dispatched", "delivered", "waitlisted_reported"),
        )
    ),
)


async def test_demands_written_before_the_service_order_index_get_their_ranks(infra: Infra) -> None:
    """0011 keeps the order of service's first two keys on each demand; older rows are ranked by it."""
    url = await new_database_url(infra.database, infra.tmp_dir, "ranks")
    await asyncio.to_thread(upgrade, "allocation", url, "0010")
    kinds = {"UA-63": "critical", "UA-46": "low", "UA-32": "medium"}  # only Kharkiv is front line
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for n, (region, priority) in enumerate(kinds.items()):
                await connection.execute(
                    OLD_DEMANDS.insert().values(
                        request_id=uuid4().hex if is_sqlite(url) else uuid4(),
                        ref=f"X-{n}",
                        region=region,
                        settlement="s",
                        facility_name="f",
                        facility_kind="hospital",
                        category="generator",
                        specs="{}",
                        quantity=1,
                        priority=priority,
                        needed_by=datetime(2026, 12, 31).date(),
                        submitted_at=datetime(2026, 12, 1, tzinfo=UTC),
                        open=True,
                        proposed=0,
                        approved=0,
                        dispatched=0,
                        delivered=0,
                        waitlisted_reported=0,
                    )
                )
        await asyncio.to_thread(upgrade, "allocation", url)
        async with engine.connect() as connection:
            ranked = await connection.execute(
                sa.text("SELECT region, priority_rank, front_line_rank FROM demands ORDER BY region")
            )
            rows = {region: (priority, front) for region, priority, front in ranked.all()}
    finally:
        await engine.dispose()
    assert rows == {"UA-32": (2, 1), "UA-46": (3, 1), "UA-63": (0, 0)}
