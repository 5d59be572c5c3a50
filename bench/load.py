"""Load generator, run as its own process: POSTs JSON bodies over loopback, bounded in count and time.

    python -m bench.load --url http://127.0.0.1:8001/v1/requests --body request --rate 200 \
        --count 2000 --duration 10 --out /tmp/load.json

`--rate R` offers a fixed load (open loop: request i is due at start + i/R, at most `--concurrency`
in flight); `--rate 0` saturates (closed loop: `--concurrency` connections, each sending the next
request as soon as the previous one is answered). The bearer token, if any, comes from the
environment variable named by `--token-env`, so it never shows in a process list.

The default client speaks keep-alive HTTP/1.1 on asyncio streams: on two cores the driver shares
the CPU with the system under test, and httpx costs about four times as much CPU per request
(it alone caps near 500 req/s here). `--client httpx` is kept to cross-check the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
REGIONS = ("UA-63", "UA-65", "UA-48", "UA-51", "UA-32", "UA-46", "UA-12", "UA-05")
PRIORITIES = ("high", "medium", "medium", "low")  # no critical: one coordinator notice per request
MAX_COUNT = 200_000
MAX_DURATION_S = 600.0


SPECS = {
    "generator": {"power_kw": 100, "fuel": ["diesel", "gas"]},  # the stock the bench registers fits these
    "pump": {"flow_m3h": 120, "head_m": 40, "medium": "water"},  # no stock: every request stays waitlisted
}


def request_bodies(variants: int = 64, *, category: str = "generator") -> list[bytes]:
    """Valid ``POST /v1/requests`` bodies (as tests.factories.request_body), varied by region and priority."""
    needed_by = (date.today() + timedelta(days=30)).isoformat()
    bodies = []
    for n in range(variants):
        body = {
            "region": REGIONS[n % len(REGIONS)],
            "settlement": "Харків",
            "facility": {"name": f"Водоканал, насосна станція №{n}", "kind": "water_utility"},
            "category": category,
            "specs": SPECS[category],
            "quantity": 1,
            "priority": PRIORITIES[n % len(PRIORITIES)],
            "needed_by": needed_by,
            "justification": "Pumping station without grid power after the strike on 14 November.",
            "contact": {"name": "Олена Коваль", "phone": "+380 57 700 00 00", "email": "olena@example.org"},
        }
        bodies.append(json.dumps(body, ensure_ascii=False).encode())
    return bodies


class Client(Protocol):
    """One keep-alive connection that can POST a JSON body."""

    async def post(self, body: bytes) -> tuple[int, bytes]: ...

    async def close(self) -> None: ...


class StreamClient:
    """Minimal HTTP/1.1 over one asyncio stream: Content-Length or chunked responses, reconnects."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        lines = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append("Content-Type: application/json")
        self.head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        reused = self.writer is not None
        try:
            return await self._exchange(body)
        except asyncio.IncompleteReadError as exc:
            # The server closed an idle keep-alive connection before reading this request (uvicorn
            # does after 5 s): nothing was processed, so send it again once on a new connection.
            if not reused or exc.partial:
                raise
            return await self._exchange(body)

    async def _exchange(self, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
            status, headers = int(head[9:12]), _headers(head)
            if headers.get("transfer-encoding") == "chunked":
                content = await self._chunked()
            else:
                content = await self.reader.readexactly(int(headers.get("content-length", "0")))
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            raise
        if headers.get("connection") == "close":
            await self.close()
        return status, content

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        chunks = []
        while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        await self.reader.readuntil(b"\r\n")
        return b"".join(chunks)

    async def close(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()


def _headers(head: bytes) -> dict[str, str]:
    fields = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip().lower()
    return fields


class HttpxClient:
    """The same contract over httpx (one client per connection: its shared pool scans all connections)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        # httpcore imports sniffio on every request when it is absent; a None entry makes that a no-op.
        sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]
        import httpx

        self.url = url
        self.client = httpx.AsyncClient(
            headers={**headers, "Content-Type": "application/json"},
            limits=httpx.Limits(max_connections=1),
            timeout=httpx.Timeout(30.0),
            verify=False,  # noqa: S501 (plain HTTP on loopback: skips building an SSL context per client)
        )

    async def post(self, body: bytes) -> tuple[int, bytes]:
        response = await self.client.post(self.url, content=body)
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


@dataclass
class Recorder:
    """What happened to each request: wall-clock send time, latency, status, returned id."""

    records: list[tuple[float, float, int, str | None]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    max_schedule_lag_s: float = 0.0
    unsent: int = 0

    async def send(self, client: Client, body: bytes) -> None:
        sent_at, started = time.time(), time.perf_counter()
        try:
            status, content = await client.post(body)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.errors[type(exc).__name__] += 1
            self.records.append((sent_at, time.perf_counter() - started, 0, None))
            return
        latency = time.perf_counter() - started
        created_id = None
        if status in (200, 201):
            try:
                created_id = json.loads(content).get("id")
            except (ValueError, AttributeError):
                created_id = None
        else:
            self.errors[f"HTTP {status}"] += 1
        self.records.append((sent_at, latency, status, created_id))


async def open_loop(
    clients: list[Client], bodies: Iterator[bytes], *, rate: float, count: int, duration_s: float
) -> Recorder:
    """Offer `rate` requests per second until `count` are sent or `duration_s` has passed."""
    recorder = Recorder()
    idle: asyncio.Queue[Client] = asyncio.Queue()
    for client in clients:
        idle.put_nowait(client)
    in_flight: set[asyncio.Task[None]] = set()

    async def one(client: Client, body: bytes) -> None:
        try:
            await recorder.send(client, body)
        finally:
            idle.put_nowait(client)

    start = time.perf_counter()
    for i in range(count):
        due = start + i / rate
        if due - start > duration_s or time.perf_counter() - start > duration_s:
            # Behind schedule at the end: what was due and not sent is counted, never sent late.
            recorder.unsent = min(count, int(duration_s * rate)) - i
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            recorder.max_schedule_lag_s = max(recorder.max_schedule_lag_s, -delay)
        task = asyncio.create_task(one(await idle.get(), next(bodies)))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight)
    return recorder


async def closed_loop(
    clients: list[Client], bodies: Iterator[bytes], *, count: int, duration_s: float
) -> Recorder:
    """Each client sends back to back until `count` are sent or `duration_s` has passed."""
    recorder = Recorder()
    deadline = time.perf_counter() + duration_s
    issued = itertools.count()

    async def worker(client: Client) -> None:
        while next(issued) < count and time.perf_counter() < deadline:
            await recorder.send(client, next(bodies))

    await asyncio.gather(*(worker(client) for client in clients))
    return recorder


async def drive(args: argparse.Namespace) -> dict[str, Any]:
    """Run the configured load and return its raw records."""
    headers = {}
    if args.token_env and os.environ.get(args.token_env):
        headers["Authorization"] = f"Bearer {os.environ[args.token_env]}"
    bodies = itertools.cycle(request_bodies(category=args.category))
    kind = StreamClient if args.client == "stream" else HttpxClient
    clients: list[Client] = [kind(args.url, headers) for _ in range(args.concurrency)]
    started_wall, started = time.time(), time.perf_counter()
    try:
        if args.rate > 0:
            recorder = await open_loop(
                clients, bodies, rate=args.rate, count=args.count, duration_s=args.duration
            )
        else:
            recorder = await closed_loop(clients, bodies, count=args.count, duration_s=args.duration)
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(client.close() for client in clients))
    return {
        "url": args.url,
        "client": args.client,
        "rate": args.rate,
        "concurrency": args.concurrency,
        "started_at": started_wall,
        "elapsed_s": elapsed,
        "max_schedule_lag_s": recorder.max_schedule_lag_s,
        "unsent": recorder.unsent,
        "errors": dict(recorder.errors),
        "records": recorder.records,
        "cpu_s": time.process_time(),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; refuses anything but loopback and unbounded runs."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=0.0, help="requests/s; 0 = saturate (closed loop)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--client", choices=("stream", "httpx"), default="stream")
    parser.add_argument("--category", choices=sorted(SPECS), default="generator")
    parser.add_argument("--token-env", default="BENCH_TOKEN")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if urlsplit(args.url).hostname not in LOOPBACK:
        parser.error(f"refusing to load anything but loopback: {args.url}")
    if not 0 < args.count <= MAX_COUNT or not 0 < args.duration <= MAX_DURATION_S:
        parser.error(f"count must be 1..{MAX_COUNT} and duration 0..{MAX_DURATION_S} s")
    if args.concurrency < 1:
        parser.error("concurrency must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: drive, then write the records as JSON."""
    args = parse_args(argv)
    import uvloop

    args.out.write_text(json.dumps(uvloop.run(drive(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
