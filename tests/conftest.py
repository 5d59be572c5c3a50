"""Suite-wide fixtures: real broker and database chosen per SPEC §8, announced in the header."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.infra import (
    BrokerChoice,
    DatabaseChoice,
    choose_broker,
    choose_database,
    require_production_infra,
    start_broker,
    start_database,
    stop_broker,
    stop_database,
)
from tests.support.stack import ServiceStack, make_stack


@dataclass
class Infra:
    broker: BrokerChoice
    database: DatabaseChoice
    tmp_dir: Path


@functools.cache
def _choices() -> tuple[BrokerChoice, DatabaseChoice]:
    broker, database = choose_broker(), choose_database()
    require_production_infra(broker, database)
    return broker, database


def pytest_report_header(config: pytest.Config) -> list[str]:
    broker, database = _choices()
    return [f"vidnova infrastructure: {broker.describe()}; {database.describe()}"]


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    broker, database = _choices()
    tmp_dir = tmp_path_factory.mktemp("infra")
    start_broker(broker, tmp_dir)
    try:
        start_database(database)
        try:
            print(f"\n[vidnova] {broker.describe()}; {database.describe()}")
            yield Infra(broker, database, tmp_dir)
        finally:
            stop_database(database)
    finally:
        stop_broker(broker)


@pytest.fixture(scope="session")
async def stack(infra: Infra) -> AsyncIterator[ServiceStack]:
    """The three services, started once for the session (group joins take seconds)."""
    # A five-minute fallback poll: every end-to-end test then also proves the relays are woken by commits.
    services = await make_stack(
        broker=infra.broker, database=infra.database, tmp_dir=infra.tmp_dir, OUTBOX_POLL_INTERVAL_S="300"
    )
    try:
        yield services
    finally:
        services.stop()
