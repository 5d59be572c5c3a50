"""The webhook sender against real sockets: DNS rebinding, redirects to loopback, huge responses (§14.1)."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from uuid import uuid4

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from services.notifications import webhooks
from services.notifications.channels import MAX_RESPONSE_BYTES, DeliveryError, Job, WebhookSender, post_capped
from services.notifications.webhooks import IPAddress, TargetPolicy

HUGE = 10 * 1024 * 1024


@dataclass
class RawServer:
    """A minimal HTTP/1.1 server on loopback that answers by path and records what reached it."""

    hits: list[str] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    huge_bytes_written: int = 0
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            path = head[0].split(" ")[1]
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.hits.append(path)
            self.bodies[path], self.headers[path] = body, headers
            if path == "/redirect":
                location = f"http://127.0.0.1:{self.port}/internal"
                head_out = f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
                writer.write(head_out.encode())
            elif path == "/huge":
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {HUGE}\r\n\r\n".encode())
                chunk = b"x" * 65536
                for _ in range(HUGE // len(chunk)):
                    writer.write(chunk)
                    await writer.drain()
                    self.huge_bytes_written += len(chunk)
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: what the size cap does
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    running = RawServer()
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(3.0)) as http:
        yield http


def job(target: str, secret: str) -> Job:
    return Job(
        id=uuid4(), number=1, claim_token=uuid4(), channel="webhook", target=target, locale="en",
        title="Delivered: 2 units", body="2 units received", data={"quantity": 2},
        source_event_id=uuid4(), source_event_type="vidnova.allocation.delivered.v1",
        subject_id="a-1", signing_key=secret,
    )  # fmt: skip


class RebindingResolver:
    """An attacker's DNS: a public address for the check, loopback for anyone who asks again."""

    def __init__(self) -> None:
        self.lookups = 0

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups += 1
        return [ipaddress.ip_address("93.184.215.14" if self.lookups == 1 else "127.0.0.1")]


async def test_dns_rebinding_cannot_reach_loopback(server: RawServer, client: httpx.AsyncClient) -> None:
    # "localhost" resolves to loopback on this machine: a client that looked the name up again
    # (as httpx would on its own) would reach the server below.
    resolver = RebindingResolver()
    policy = TargetPolicy(allowed_ports=frozenset({server.port}), resolver=resolver)
    sender = WebhookSender(client, policy=policy)
    target = f"http://localhost:{server.port}/hook"
    with pytest.raises(DeliveryError):  # the vetted public address does not answer on that port
        await sender.send(job(target, webhooks.new_secret()))
    assert resolver.lookups == 1
    with pytest.raises(DeliveryError, match=r"target refused: .*127\.0\.0\.1"):
        await sender.send(job(target, webhooks.new_secret()))
    assert resolver.lookups == 2
    assert server.hits == []


async def test_a_redirect_to_loopback_is_not_followed(server: RawServer, client: httpx.AsyncClient) -> None:
    sender = WebhookSender(client, policy=TargetPolicy(allow_private=True))  # private allowed, redirects not
    with pytest.raises(DeliveryError, match="HTTP 302") as refused:
        await sender.send(job(f"http://127.0.0.1:{server.port}/redirect", webhooks.new_secret()))
    assert not refused.value.retryable
    assert server.hits == ["/redirect"]


async def test_a_10_mib_response_is_read_only_up_to_64_kib(
    server: RawServer, client: httpx.AsyncClient
) -> None:
    vetted = await TargetPolicy(allow_private=True).vet(f"http://127.0.0.1:{server.port}/huge")
    started = time.monotonic()
    status, received = await post_capped(client, vetted, body=b"{}", headers={})
    assert status == 200
    assert len(received) == MAX_RESPONSE_BYTES
    assert time.monotonic() - started < 3.0
    assert server.huge_bytes_written < HUGE  # the connection was dropped, not drained


async def test_the_request_is_a_standard_webhook_with_the_url_host(
    server: RawServer, client: httpx.AsyncClient
) -> None:
    secret = webhooks.new_secret()
    sender = WebhookSender(client, policy=TargetPolicy(allow_private=True))
    sent = job(f"http://localhost:{server.port}/hook", secret)
    assert await sender.send(sent) == 200
    headers, body = server.headers["/hook"], server.bodies["/hook"]
    assert headers["host"] == f"localhost:{server.port}"  # connected by address, addressed by name
    assert headers["webhook-id"] == str(sent.id)
    document = Webhook(secret).verify(body, headers)
    assert document["specversion"] == "1.0"
    assert document["type"] == "vidnova.allocation.delivered.v1"
    assert document["data"]["title"] == "Delivered: 2 units"
