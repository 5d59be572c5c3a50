"""A service in JWKS mode keeps its event loop free while the provider is slow or gone (§14.3)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import Infra
from tests.support.jwks_server import ISSUER, JwksServer, new_key, token
from tests.support.stack import ServiceStack, make_stack

KEY, ROTATED = new_key(), new_key()
HEALTHZ_BUDGET_S = 0.05
# A blocked loop would hold /healthz for the whole fetch (2 s); a busy 2-core machine running other
# suites may delay an answer past 50 ms, so: nine in ten (all but one) within 50 ms, none near the fetch.
NEVER_S = 0.5


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[JwksServer]:
    server = JwksServer(published={"k1": KEY})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def service(
    infra: Infra, provider: JwksServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceStack]:
    stack = await make_stack(
        broker=infra.broker,
        database=infra.database,
        tmp_dir=tmp_path_factory.mktemp("jwks"),
        names=("requests",),
        VIDNOVA_JWKS_URL=provider.url,
        VIDNOVA_AUTH_ISSUER=ISSUER,
        VIDNOVA_JWKS_MIN_REFRESH_S="0",  # every unknown kid fetches: the slow path is taken at once
    )
    yield stack
    stack.stop()


async def healthz_latencies_while(
    pending: asyncio.Task[httpx.Response], client: httpx.AsyncClient
) -> list[float]:
    """Time ``/healthz`` again and again until ``pending`` finishes."""
    latencies: list[float] = []
    while not pending.done():
        started = time.perf_counter()
        response = await client.get("/healthz")
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200
    return latencies


def assert_fast(latencies: list[float]) -> None:
    slowest = sorted(latencies)[-5:]
    late = [latency for latency in latencies if latency >= HEALTHZ_BUDGET_S]
    assert len(late) <= max(1, len(latencies) // 10), slowest
    assert max(latencies, default=0.0) < NEVER_S, slowest


async def test_healthz_answers_within_50_ms_while_the_jwks_is_slow_then_unreachable(
    service: ServiceStack, provider: JwksServer
) -> None:
    async with httpx.AsyncClient(base_url=service.url("requests"), timeout=30.0) as client:
        known = {"Authorization": f"Bearer {token(KEY, 'k1', role='coordinator')}"}
        assert (await client.get("/v1/requests", headers=known)).status_code == 200
        await client.get("/healthz")  # a warm connection: what is timed below is the server

        # The provider rotates in a new key and answers slowly: the token with the new kid waits for
        # the fetch, nothing else does.
        provider.published = {"k1": KEY, "k2": ROTATED}
        provider.delay_s = 2.0
        rotated = {"Authorization": f"Bearer {token(ROTATED, 'k2', role='coordinator')}"}
        waiting = asyncio.create_task(client.get("/v1/requests", headers=rotated))
        latencies = await healthz_latencies_while(waiting, client)
        assert (await waiting).status_code == 200
        assert len(latencies) >= 10
        assert_fast(latencies)
        assert (await client.get("/v1/requests", headers=known)).status_code == 200

        # Now it is gone: an unknown kid is refused without stalling anything, known keys still work.
        provider.stop()
        unknown = {"Authorization": f"Bearer {token(ROTATED, 'k3', role='coordinator')}"}
        refused = asyncio.create_task(client.get("/v1/requests", headers=unknown))
        latencies = await healthz_latencies_while(refused, client)
        response = await refused
        assert response.status_code == 401, response.text
        assert "key id" in response.json()["detail"]
        assert_fast(latencies)
        assert (await client.get("/v1/requests", headers=rotated)).status_code == 200
