"""Server-sent events of an audience's inbox, resumable with ``Last-Event-ID``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from sqlmodel import col, select

from services.notifications.inbox import items_after, to_public
from services.notifications.models import NotificationRead
from services.notifications.rendering import Locale
from shared.db import Database

RETRY_MS = 3000
HEARTBEAT_S = 15.0
POLL_S = 1.0
BATCH = 100


class Doorbell:
    """Wakes every waiting stream of this process when a transaction with events commits."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        """Wake all current waiters."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout_s: float) -> None:
        """Return when rung or after the timeout (other instances' writes are found by polling)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout_s)


def sse_event(event_id: int, event: str, data: str) -> str:
    """One event in the ``text/event-stream`` format (``data`` is a single line of JSON)."""
    return f"id: {event_id}\nevent: {event}\ndata: {data}\n\n"


async def inbox_events(
    *,
    db: Database,
    audience: str,
    reader: str,
    position: int,
    locale: Locale,
    doorbell: Doorbell,
    poll_s: float = POLL_S,
    heartbeat_s: float = HEARTBEAT_S,
) -> AsyncIterator[str]:
    """Every inbox item after ``position``, then each new one as it commits, forever."""
    yield f"retry: {RETRY_MS}\n: stream open after {position}\n\n"
    last_sent = time.monotonic()
    while True:
        async with db.session() as session:
            items = await items_after(session=session, audience=audience, position=position, limit=BATCH)
            read = set(
                (
                    await session.exec(
                        select(NotificationRead.notification_id).where(
                            NotificationRead.reader == reader,
                            col(NotificationRead.notification_id).in_([i.id for i in items]),
                        )
                    )
                ).all()
                if items
                else ()
            )
        for item in items:
            public = to_public(item, locale=locale, read=item.id in read)
            yield sse_event(item.seq, "notification", public.model_dump_json())
            position = item.seq
            last_sent = time.monotonic()
        if len(items) == BATCH:
            continue
        if time.monotonic() - last_sent >= heartbeat_s:
            yield ": keep-alive\n\n"  # keeps proxies from closing an idle stream
            last_sent = time.monotonic()
        await doorbell.wait(poll_s)
