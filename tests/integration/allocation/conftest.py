"""A private stack (requests + allocation) for the allocation tests, whose data no other test touches."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import Infra
from tests.integration.allocation.desk import Desk
from tests.support.stack import make_stack


@pytest.fixture(scope="package")
async def desk(infra: Infra) -> AsyncIterator[Desk]:
    """Requests and allocation services of their own, so other suites' stock and demand never interfere."""
    stack = await make_stack(
        broker=infra.broker, database=infra.database, tmp_dir=infra.tmp_dir, names=("requests", "allocation")
    )
    try:
        yield Desk(stack)
    finally:
        stack.stop()
