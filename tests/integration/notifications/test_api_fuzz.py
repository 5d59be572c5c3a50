"""Schemathesis against the running notifications service: no 5xx, every response as documented."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.conftest import Infra
from tests.integration.notifications.harness import Harness, notifications_stack, start_harness, stop_harness
from tests.support.api_fuzz import fuzz_api

IDENTITIES = {
    "coordinator": {"sub": "fuzz-coordinator", "role": "coordinator"},
    "region_admin": {"sub": "fuzz-kharkiv", "role": "region_admin", "region": "UA-63"},
    "donor": {"sub": "fuzz-jica", "role": "donor", "donor_id": "jica"},
}


@pytest.fixture(scope="module")
async def fuzzed(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    """A stack of its own: the subscriptions fuzzing creates must never receive anything."""
    stack = await notifications_stack(infra, tmp_path_factory.mktemp("fuzz"))
    running = await start_harness(stack)
    yield running
    await stop_harness(running)


def _not_the_stream(method: str, path: str) -> bool:
    # The stream never ends by design; test_stream.py reads it with a real client. The ticket operation
    # takes no input at all (nothing for the negative mode to break); test_stream_limits.py calls it.
    return path.startswith("/v1/") and path not in (
        "/v1/notifications/stream",
        "/v1/notifications/stream-ticket",
    )


@pytest.mark.parametrize("who", IDENTITIES)
async def test_notifications_api_survives_schemathesis(fuzzed: Harness, who: str) -> None:
    token = fuzzed.token(**IDENTITIES[who])  # type: ignore[arg-type]
    report = await asyncio.to_thread(
        fuzz_api, fuzzed.stack.url("notifications"), token, include=_not_the_stream
    )
    assert report.calls, "no operation was exercised"
    report.raise_for_failures()
