"""Schemathesis against the running allocation service: no 5xx, every response as documented."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from shared.auth import mint_token
from shared.catalog import all_categories
from tests.conftest import Infra
from tests.factories import request_submitted
from tests.integration.allocation.events import publish
from tests.support.api_fuzz import fuzz_api
from tests.support.stack import ServiceStack, make_stack


@pytest.fixture(scope="module")
async def fuzzed(infra: Infra) -> AsyncIterator[ServiceStack]:
    """An allocation service of its own (generated lots must not meet other tests' requests), with demand
    in every category so that generated lots are matched and the matching paths run too."""
    stack = await make_stack(
        broker=infra.broker, database=infra.database, tmp_dir=infra.tmp_dir, names=("allocation",)
    )
    try:
        await publish(
            stack,
            *(
                request_submitted(category=category, specs={}, quantity=3, region=region)
                for category in (category.name for category in all_categories())
                for region in ("UA-63", "UA-51", "UA-21")
            ),
        )
        yield stack
    finally:
        stack.stop()


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "coord-1", "role": "coordinator"},
        {"sub": "jica-desk", "role": "donor", "donor_id": "jica"},
        {"sub": "kharkiv-admin", "role": "region_admin", "region": "UA-63"},
        {"sub": "ops-1", "role": "admin"},  # the only writer of the donor registry
    ],
    ids=["coordinator", "donor", "region_admin", "admin"],
)
async def test_allocation_api_survives_schemathesis(fuzzed: ServiceStack, claims: dict[str, str]) -> None:
    token = mint_token(secret=fuzzed.secret, **claims)  # type: ignore[arg-type]
    report = await asyncio.to_thread(fuzz_api, fuzzed.url("allocation"), token)
    assert report.calls, "no operation was exercised"
    report.raise_for_failures()
