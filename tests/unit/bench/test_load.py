"""The load driver: valid bodies, loopback only, bounded, and a correct minimal HTTP/1.1 client."""

from __future__ import annotations

import asyncio

import pytest

from bench.load import StreamClient, parse_args, request_bodies
from services.requests.schemas import RequestCreate


def test_request_bodies_are_valid_requests_with_one_coordinator_notice_each() -> None:
    bodies = [RequestCreate.model_validate_json(body) for body in request_bodies()]
    assert len({(b.region, b.priority) for b in bodies}) > 4
    assert all(b.priority != "critical" for b in bodies)


@pytest.mark.parametrize("url", ["http://10.0.0.5:8001/v1/requests", "http://example.org/v1/requests"])
def test_anything_but_loopback_is_refused(url: str) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--url", url, "--count", "10", "--duration", "1", "--out", "/tmp/x.json"])


@pytest.mark.parametrize(("count", "duration"), [("0", "1"), ("10", "0"), ("10", "100000")])
def test_runs_must_be_bounded(count: str, duration: str) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--url", "http://127.0.0.1:1/x", "--count", count, "--duration", duration, "--out", "o"])


async def _serve_once(responses: list[bytes]) -> tuple[asyncio.Server, int, list[bytes]]:
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for response in responses:
            head = await reader.readuntil(b"\r\n\r\n")
            sizes = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
            length = int(sizes[0].split(b":")[1])
            received.append(head + await reader.readexactly(length))
            writer.write(response)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], received


async def test_stream_client_reads_sized_and_chunked_answers_on_one_connection() -> None:
    sized = b'HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{"id":"a"}'
    chunked = (
        b'HTTP/1.1 422 Unprocessable\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{"x"\r\n3\r\n:1}\r\n0\r\n\r\n'
    )
    server, port, received = await _serve_once([sized, chunked])
    async with server:
        client = StreamClient(f"http://127.0.0.1:{port}/v1/requests", {"Authorization": "Bearer t"})
        assert await client.post(b'{"a":1}') == (201, b'{"id":"a"}')
        assert await client.post(b"{}") == (422, b'{"x":1}')
        await client.close()
    assert received[0].startswith(b"POST /v1/requests HTTP/1.1\r\n")
    assert b"Authorization: Bearer t\r\n" in received[0]
    assert received[0].endswith(b'\r\n\r\n{"a":1}')


async def test_a_keep_alive_connection_closed_by_the_server_while_idle_is_reopened_once() -> None:
    answer = b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}"
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(int(head.rsplit(b"Content-Length: ", 1)[1].split(b"\r\n")[0]))
        writer.write(answer)
        await writer.drain()
        writer.close()  # as uvicorn does when a keep-alive connection has been idle too long

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        client = StreamClient(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/x", {})
        assert await client.post(b"{}") == (201, b"{}")
        await asyncio.sleep(0.05)
        assert await client.post(b"{}") == (201, b"{}")
        await client.close()
    assert connections == 2
