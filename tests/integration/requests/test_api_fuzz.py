"""Schemathesis against the running requests service: no 5xx, every response as documented."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import request_body
from tests.support.api_fuzz import fuzz_api
from tests.support.stack import ServiceStack


@pytest.mark.parametrize("who", ["coordinator", "kharkiv"])
async def test_requests_api_survives_schemathesis(stack: ServiceStack, who: str) -> None:
    async with stack.client("requests", "kharkiv") as client:
        existing = (await client.post("/v1/requests", json=request_body())).json()
    report = await asyncio.to_thread(
        fuzz_api, stack.url("requests"), stack.token(who), path_parameters={"request_id": existing["id"]}
    )
    assert report.calls, "no operation was exercised"
    report.raise_for_failures()
