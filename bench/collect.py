"""Reading what the system did: request timelines and the coordinator inbox, over its public API."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.hops import Journey, journey, parse_time
from bench.stack import RunningStack

INBOX_PAGE = 200


async def _fetch(client: httpx.AsyncClient, url: str, semaphore: asyncio.Semaphore) -> dict[str, Any] | None:
    async with semaphore:
        try:
            response = await client.get(url)
        except httpx.HTTPError:
            return None
    return response.json() if response.status_code == 200 else None


async def journeys(
    stack: RunningStack, request_ids: Sequence[str], *, deadline_s: float, concurrency: int = 8
) -> list[Journey]:
    """Each request's journey, re-reading those without an outcome until they have one or time is up."""
    base = stack.url("requests")
    done: dict[str, Journey] = {}
    pending = list(request_ids)
    deadline = time.monotonic() + deadline_s
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(headers=stack.headers("coordinator"), timeout=30.0) as client:
        while pending:
            bodies = await asyncio.gather(
                *(_fetch(client, f"{base}/v1/requests/{rid}", semaphore) for rid in pending)
            )
            for rid, body in zip(pending, bodies, strict=True):
                if body is not None:
                    done[rid] = journey(body)
            pending = [rid for rid in pending if rid not in done or done[rid].outcome is None]
            if not pending or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    return [done[rid] for rid in request_ids if rid in done]


async def wait_drained(stack: RunningStack, request_id: str, *, deadline_s: float) -> bool:
    """Poll until the last request sent has its outcome and its coordinator notice (or time is up)."""
    deadline = time.monotonic() + deadline_s
    found = await journeys(stack, [request_id], deadline_s=deadline_s, concurrency=1)
    if not found or found[0].outcome is None:
        return False
    wanted = {request_id, *found[0].related_ids}
    async with httpx.AsyncClient(headers=stack.headers("coordinator"), timeout=30.0) as client:
        while time.monotonic() < deadline:
            response = await client.get(
                f"{stack.url('notifications')}/v1/notifications", params={"limit": 200}
            )
            if response.status_code == 200:
                items = response.json().get("items") or []
                if any(str(item.get("subject_id")) in wanted for item in items):
                    return True
            await asyncio.sleep(0.5)
    return False


async def coordinator_inbox(
    stack: RunningStack, *, since: float, wanted: int
) -> tuple[list[dict[str, Any]], str]:
    """Inbox items created after `since`, newest first, following `next_cursor` while it is given.

    If the API stops paginating before reaching `since` while fewer than `wanted` items were read
    (the notifications API is being completed), the items are read from the notifications SQLite
    file of the bench's own stack instead; the returned source says which.
    """
    base = stack.url("notifications")
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    reached_since = False
    async with httpx.AsyncClient(headers=stack.headers("coordinator"), timeout=30.0) as client:
        for _ in range(10_000):
            params: dict[str, Any] = {"limit": INBOX_PAGE}
            if cursor:
                params["cursor"] = cursor
            response = await client.get(f"{base}/v1/notifications", params=params)
            response.raise_for_status()
            page = response.json()
            items.extend(page.get("items") or [])
            cursor = page.get("next_cursor")
            oldest = items[-1].get("created_at") if items else None
            reached_since = oldest is not None and parse_time(oldest) < since
            if not cursor or reached_since:
                break
    if reached_since or len(items) >= wanted or (not cursor and len(items) < INBOX_PAGE):
        return items, "API (GET /v1/notifications)"
    database = stack.state_dir / "notifications.db"
    if database.exists():
        return _inbox_from_sqlite(database), f"SQLite file {database.name} (the API returned one page only)"
    return items, "API (first page only: older notices not measured)"


def _inbox_from_sqlite(path: Path) -> list[dict[str, Any]]:
    """Coordinator notices straight from the bench stack's own notifications database (read-only)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        rows = connection.execute(
            "SELECT subject_id, source_event_type, created_at FROM notifications WHERE audience = ?",
            ("coordinators",),
        ).fetchall()
    finally:
        connection.close()
    return [
        {"subject_id": subject, "type": event_type, "created_at": _sqlite_time(created)}
        for subject, event_type, created in rows
    ]


def event_counts(state_dir: Path, names: Sequence[str]) -> dict[str, dict[str, int]]:
    """Events each service published (outbox rows) and handled (processed_events), from its SQLite file."""
    counts: dict[str, dict[str, int]] = {}
    for name in names:
        path = state_dir / f"{name}.db"
        if not path.exists():
            continue
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            counts[name] = {
                table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
                for table in ("outbox", "processed_events")
            }
        except sqlite3.Error:
            continue
        finally:
            connection.close()
    return counts


def _sqlite_time(value: str) -> str:
    # UTCDateTime stores naive UTC text in SQLite ("2026-03-01 12:00:00.123456").
    return value.replace(" ", "T") + ("" if "+" in value or value.endswith("Z") else "+00:00")
