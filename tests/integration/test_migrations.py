"""Each service's Alembic migrations create exactly the tables its models declare."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from shared.migrations import upgrade
from shared.settings import ALL_SERVICE_NAMES
from tests.conftest import Infra
from tests.support.infra import new_database_url

SHARED_MODULES = ("shared.outbox", "shared.consumer", "shared.dead_letters")


def tables_of(service: str) -> set[str]:
    """Tables of the models the service's ``models`` module defines or imports, plus outbox and inbox."""
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
