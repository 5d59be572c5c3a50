"""A proposal's "why this lot" on the real stack: Ukrainian on Ukrainian pages, English on English ones.

A lot and a request that fits it are made through the services' APIs; once matching has proposed the
lot, the approvals, allocation and request pages are read in each language.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from shared.reasons import describe_reason
from shared.settings import ALL_SERVICE_NAMES
from tests.browser.console import Console, start_console, stop_console
from tests.browser.stock_setup import (
    PASSWORD,
    allocations_of,
    file_request,
    fresh_donor,
    fresh_region,
    register_lot,
)
from tests.conftest import Infra


@pytest.fixture(scope="module")
async def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Console]:
    running = await start_console(
        infra.broker, infra.database, tmp_path_factory.mktemp("reasons"), names=ALL_SERVICE_NAMES
    )
    try:
        yield running
    finally:
        await stop_console(running)


@pytest.fixture(scope="module")
async def proposal(stack: Console) -> dict[str, Any]:
    region = fresh_region()
    await register_lot(stack, fresh_donor(), region)
    request = await file_request(stack, region)
    [proposed] = await allocations_of(stack, request["id"], status="proposed")
    return proposed


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


@asynccontextmanager
async def _coordinator(stack: Console, locale: str) -> AsyncIterator[httpx.AsyncClient]:
    email = f"coordinator-{uuid.uuid4().hex[:8]}@example.org"
    await stack.create_account(email, role="coordinator")
    async with httpx.AsyncClient(
        base_url=stack.url, cookies={"vidnova_locale": locale}, timeout=30, follow_redirects=True
    ) as client:
        page = await client.get("/sign-in")
        signed_in = await client.post(
            "/sign-in", data={"csrf_token": _csrf(page.text), "email": email, "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        yield client


async def _pages(client: httpx.AsyncClient, proposal: dict[str, Any]) -> dict[str, str]:
    paths = {
        "approvals": "/approvals",
        "allocation": f"/allocations/{proposal['id']}",
        "request": f"/requests/{proposal['request_id']}",
    }
    pages = {}
    for name, path in paths.items():
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        pages[name] = html.unescape(response.text)
    return pages


async def test_a_ukrainian_page_shows_the_reason_in_ukrainian(
    stack: Console, proposal: dict[str, Any]
) -> None:
    assert proposal["reason_facts"] is not None
    ukrainian = describe_reason(proposal["reason_facts"], proposal["reason"], "uk")
    assert ukrainian.startswith("Місце в черзі обслуговування: 1 (критичний пріоритет")
    async with _coordinator(stack, "uk") as client:
        pages = await _pages(client, proposal)
    for name, page in pages.items():
        assert ukrainian in page, name
        assert proposal["reason"] not in page, name


async def test_an_english_page_shows_the_stored_english_reason(
    stack: Console, proposal: dict[str, Any]
) -> None:
    async with _coordinator(stack, "en") as client:
        pages = await _pages(client, proposal)
    for name, page in pages.items():
        assert proposal["reason"] in page, name
        assert "Місце в черзі" not in page, name
