"""SPEC §7 rule 5: one delivery per (event, recipient, channel) across redelivery, restart, two instances."""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from shared.events.envelope import CloudEvent
from tests.conftest import Infra
from tests.factories import request_submitted
from tests.integration.notifications.conftest import DELIVERY_TUNING, smtp_env
from tests.integration.notifications.harness import (
    Harness,
    Mailbox,
    WebhookReceiver,
    notifications_stack,
    start_harness,
    stop_harness,
)
from tests.support.polling import eventually
from vidnova.broker import free_port


@pytest.fixture(scope="module")
async def own(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox, receiver: WebhookReceiver
) -> AsyncIterator[Harness]:
    """A stack of its own: these tests kill and add service processes."""
    directory = tmp_path_factory.mktemp("exactly-once")
    stack = await notifications_stack(infra, directory, **smtp_env(mailbox), **DELIVERY_TUNING)
    running = await start_harness(stack, mailbox=mailbox, receiver=receiver)
    yield running
    await stop_harness(running)


@pytest.fixture
async def subscribed(own: Harness) -> AsyncIterator[tuple[str, str]]:
    """A coordinator's e-mail and webhook subscriptions to critical requests: (address, path)."""
    assert own.receiver is not None
    address, path = f"once-{uuid.uuid4().hex[:8]}@example.org", f"/hooks/{uuid.uuid4().hex}"
    async with own.client(f"coord-{uuid.uuid4().hex[:6]}", "coordinator") as client:
        created = []
        for channel, target in (("email", address), ("webhook", own.receiver.endpoint(path))):
            body = {"channel": channel, "target": target, "event_types": ["request.submitted"]}
            response = await client.post("/v1/subscriptions", json=body)
            assert response.status_code == 201, response.text
            created.append(response.json()["id"])
        yield address, path
        for subscription_id in created:  # the next test counts its own deliveries only
            assert (await client.delete(f"/v1/subscriptions/{subscription_id}")).status_code == 204


def received(
    own: Harness, address: str, path: str
) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """How many e-mails and webhook calls each source event produced."""
    assert own.mailbox is not None
    assert own.receiver is not None
    mails = collections.Counter(m.message["X-Vidnova-Event-Id"] for m in own.mailbox.messages(to=address))
    answered = [c for c in own.receiver.calls_to(path) if c.status == 200]
    calls = collections.Counter(c.json()["data"]["event_id"] for c in answered)
    return mails, calls


async def both_channels(own: Harness, address: str, path: str, events: list[CloudEvent]) -> None:
    wanted = {str(e.id) for e in events}

    async def arrived() -> bool:
        mails, calls = received(own, address, path)
        return wanted <= set(mails) and wanted <= set(calls)

    await eventually(arrived, timeout_s=90, what=f"e-mail and webhook for {len(wanted)} event(s)")


async def test_redelivery_and_a_killed_service_make_no_second_delivery(
    own: Harness, subscribed: tuple[str, str]
) -> None:
    address, path = subscribed
    [event] = await own.publish(request_submitted())
    await own.send(event, event)  # redelivered twice
    await both_channels(own, address, path, [event])
    # Killed once the outcomes are recorded. (Killed between a send and its record, the job is sent
    # again after its lease: at least once, with the same Message-ID / Vidnova-Delivery to dedupe on.)
    await eventually(lambda: _settled(own, event), timeout_s=60, what="outcomes recorded")

    own.stack.signal("notifications", signal.SIGKILL)
    own.stack.start("notifications")
    await own.stack.wait_ready(("notifications",))
    await own.send(event)  # replayed after the restart
    [sentinel] = await own.publish(request_submitted())
    await both_channels(own, address, path, [sentinel])

    mails, calls = received(own, address, path)
    assert (mails[str(event.id)], calls[str(event.id)]) == (1, 1)
    rows = collections.Counter(d.channel for d in await own.deliveries_of(event))
    assert rows == {"inbox": 1, "email": 1, "webhook": 1}


async def _settled(own: Harness, event: CloudEvent) -> bool:
    return all(d.status == "delivered" for d in await own.deliveries_of(event))


@pytest.fixture
def second_instance(own: Harness, tmp_path: Path) -> Iterator[str]:
    """Another notifications process on the same database and consumer group; yields its URL."""
    port = free_port()
    with (tmp_path / "second.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.notifications"],
            env={**own.stack.env, "NOTIFICATIONS_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def test_two_instances_deliver_each_notice_once(
    own: Harness, subscribed: tuple[str, str], second_instance: str
) -> None:
    async with httpx.AsyncClient(timeout=5) as client:

        async def ready() -> bool:
            try:
                return (await client.get(f"{second_instance}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, timeout_s=60, what="second instance ready")
    address, path = subscribed
    events = await own.publish(*(request_submitted(ref=f"UA63-2026-{i:06d}") for i in range(12)))
    await both_channels(own, address, path, events)

    mails, calls = received(own, address, path)
    assert {mails[str(e.id)] for e in events} == {1}
    assert {calls[str(e.id)] for e in events} == {1}
    for event in events:
        rows = collections.Counter(d.channel for d in await own.deliveries_of(event))
        assert rows == {"inbox": 1, "email": 1, "webhook": 1}
