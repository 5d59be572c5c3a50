"""What a chaos run must leave behind, read through the public APIs once the stack is quiet.

- every acknowledged write present exactly once (each write carries a unique marker);
- every acknowledged request past ``submitted``;
- no over-allocation, per lot and per request;
- one effect per event: no event twice in a request's timeline or in the coordinator's inbox.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

HOLDING = ("proposed", "approved", "dispatched", "delivered")


@dataclass
class History:
    """What the run observed, and what the checks found wrong (empty lists: all held)."""

    acknowledged: dict[str, str]  # marker → request id
    requests: list[dict[str, Any]] = field(default_factory=list)
    allocations: list[dict[str, Any]] = field(default_factory=list)
    lots: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    timelines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def stuck(self) -> list[str]:
        """Acknowledged requests still ``submitted`` (or missing)."""
        status = {item["id"]: item["status"] for item in self.requests}
        return [
            rid
            for rid in self.acknowledged.values()
            if status.get(rid, "missing") in ("submitted", "missing")
        ]

    def violations(self) -> dict[str, list[str]]:
        """Each check's failures."""
        markers = Counter(item["facility"]["name"] for item in self.requests)
        by_request: Counter[str] = Counter()
        for allocation in self.allocations:
            if allocation["status"] in HOLDING:
                by_request[allocation["request_id"]] += allocation["quantity"]
        requested = {item["id"]: item["quantities"]["requested"] for item in self.requests}
        notice_events = Counter((n["source_event_id"], n["type"]) for n in self.notices)
        return {
            "write missing or duplicated": [
                f"{marker}: {markers[marker]}" for marker in self.acknowledged if markers[marker] != 1
            ],
            "acknowledged request still submitted": self.stuck(),
            "lot over-allocated": [
                f"{lot['id']}: {lot['quantities']}"
                for lot in self.lots
                if sum(lot["quantities"][k] for k in HOLDING) > lot["quantities"]["total"]
            ],
            "request over-allocated": [
                f"{rid}: {held} > {requested.get(rid)}"
                for rid, held in by_request.items()
                if held > requested.get(rid, 0)
            ],
            "event applied twice": [
                f"request {rid}: {event}"
                for rid, entries in self.timelines.items()
                for event, count in Counter(e["event_id"] for e in entries).items()
                if count > 1
            ]
            + [f"notice {event}: {count}" for event, count in notice_events.items() if count > 1],
        }


async def pages(client: httpx.AsyncClient, path: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
    """Every item of a cursor-paginated list."""
    cursor = None
    while True:
        query = {"limit": 200, **params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query)
        response.raise_for_status()
        page = response.json()
        for item in page["items"]:
            yield item
        cursor = page["next_cursor"]
        if cursor is None:
            return


async def statuses(client: httpx.AsyncClient) -> dict[str, str]:
    """Request id → status, for every request."""
    return {item["id"]: item["status"] async for item in pages(client, "/v1/requests")}


async def collect(acknowledged: dict[str, str], *, urls: dict[str, str], headers: dict[str, str]) -> History:
    """Read everything the checks need."""
    history = History(acknowledged)
    async with httpx.AsyncClient(headers=headers, timeout=30.0) as client:
        history.requests = [item async for item in pages(client, f"{urls['requests']}/v1/requests")]
        history.allocations = [item async for item in pages(client, f"{urls['allocation']}/v1/allocations")]
        history.lots = [item async for item in pages(client, f"{urls['allocation']}/v1/lots")]
        history.notices = [item async for item in pages(client, f"{urls['notifications']}/v1/notifications")]
        for rid in acknowledged.values():
            response = await client.get(f"{urls['requests']}/v1/requests/{rid}")
            if response.status_code == 200:
                history.timelines[rid] = response.json()["timeline"]
    return history
