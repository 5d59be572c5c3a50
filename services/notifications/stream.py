"""Server-sent events of an audience's inbox, resumable with ``Last-Event-ID`` (SPEC §14.5).

Streams do not poll the database each: one ``InboxBell`` per process wakes them all, at once for this
process's commits and, for other processes' writes, through a single shared poll of the inbox's
positions. Each stream ends when its token expires; a comment ping keeps idle proxies from closing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.inbox import items_after
from services.notifications.models import InboxSequence, NotificationRead
from services.notifications.rendering import Locale
from services.notifications.shapes import to_public
from shared.db import Database
from shared.problems import Problem

log = logging.getLogger(__name__)
RETRY_MS = 3000
BATCH = 100


class InboxBell:
    """A version number that moves whenever the inbox may have grown; streams wait for it to move."""

    def __init__(self, db: Database, *, poll_s: float) -> None:
        self.db = db
        self.poll_s = poll_s
        self.version = 0
        self._moved = asyncio.Event()
        self._listeners = 0
        self._watch: asyncio.Task[None] | None = None

    def ring(self) -> None:
        """Something was written: wake every waiting stream."""
        self.version += 1
        self._moved.set()
        self._moved = asyncio.Event()

    @contextlib.contextmanager
    def listening(self) -> Iterator[None]:
        """A stream's lifetime: the shared poll runs while any stream listens."""
        self._listeners += 1
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._poll(), name="inbox-bell")
        try:
            yield
        finally:
            self._listeners -= 1

    async def wait_past(self, version: int, timeout_s: float) -> None:
        """Return once the version differs from ``version``, or after the timeout."""
        if self.version != version:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._moved.wait(), timeout_s)

    async def _poll(self) -> None:
        # The sum of every audience's last position grows with each new inbox item, whoever wrote it.
        statement = sa.select(sa.func.coalesce(sa.func.sum(col(InboxSequence.last_seq)), 0))
        last: int | None = None
        while self._listeners > 0:
            newest: int | None
            try:
                async with self.db.session() as session:
                    newest = int((await session.execute(statement)).scalar_one())
            except (sa.exc.SQLAlchemyError, OSError) as exc:
                log.warning("inbox poll failed", extra={"error": f"{type(exc).__name__}: {exc}"})
                newest = last
            if newest != last:
                self.ring()  # the first reading too: a stream may have queried just before it
            last = newest
            await asyncio.sleep(self.poll_s)


class StreamSlots:
    """At most ``per_person`` open streams per token subject and ``total`` per process, else 429."""

    def __init__(self, *, per_person: int, total: int) -> None:
        self.per_person = per_person
        self.total = total
        self._open: Counter[str] = Counter()

    def take(self, person: str) -> None:
        """Take a slot for a stream about to open, or raise 429."""
        if self._open.total() >= self.total:
            raise too_many(f"this server already holds {self.total} open streams")
        if self._open[person] >= self.per_person:
            raise too_many(f"you already have {self.per_person} open streams; close one first")
        self._open[person] += 1

    def release(self, person: str) -> None:
        """Give back the slot of a stream that ended."""
        self._open[person] -= 1
        if self._open[person] <= 0:
            del self._open[person]


def too_many(detail: str) -> Problem:
    """429 with a hint when to try again."""
    return Problem(429, "Too Many Requests", detail, headers={"Retry-After": "30"})


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
    bell: InboxBell,
    expires_at: float | None,
    ping_s: float,
) -> AsyncIterator[str]:
    """Every inbox item after ``position``, then each new one as it commits, until the token expires."""
    # The id sets the client's Last-Event-ID before any item: a reconnect before the first item still
    # resumes from here, so an item committed while it was away is not missed.
    yield f"retry: {RETRY_MS}\nid: {position}\n: stream open after {position}\n\n"
    last_sent = time.monotonic()
    with bell.listening():
        while True:
            version = bell.version
            async with db.session() as session:
                items = await items_after(session=session, audience=audience, position=position, limit=BATCH)
                read = await _read_marks(session, reader, [i.id for i in items]) if items else set()
            for item in items:
                public = to_public(item, locale=locale, read=item.id in read)
                yield sse_event(item.seq, "notification", public.model_dump_json())
                position = item.seq
                last_sent = time.monotonic()
            if len(items) == BATCH:
                continue
            left = None if expires_at is None else expires_at - time.time()
            if left is not None and left <= 0:
                yield ": token expired\n\n"
                return
            if time.monotonic() - last_sent >= ping_s:
                yield ": ping\n\n"  # keeps proxies from closing an idle stream
                last_sent = time.monotonic()
            until_ping = ping_s - (time.monotonic() - last_sent)
            await bell.wait_past(version, min(until_ping, left) if left is not None else until_ping)


async def _read_marks(session: AsyncSession, reader: str, ids: list[UUID]) -> set[UUID]:
    statement = select(NotificationRead.notification_id).where(
        NotificationRead.reader == reader, col(NotificationRead.notification_id).in_(ids)
    )
    return set((await session.exec(statement)).all())
