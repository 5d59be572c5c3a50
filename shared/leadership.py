"""Leadership among replicas: a PostgreSQL session advisory lock held on its own connection.

Used for work that must run in one instance at a time per database (the outbox relay's publishing,
proposal expiry, donor statements). SQLite is single-process, so there every caller leads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database
from shared.stopping import wait_or_stop

log = logging.getLogger(__name__)

_NAMESPACE = sa.func.hashtext("vidnova.leadership")


class Leadership:
    """A session-level advisory lock held on its own connection: one holder per database and role."""

    def __init__(self, db: Database, role: str) -> None:
        self.db = db
        self.role = role
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> bool:
        """Whether this process leads now (kept until ``release`` or until its connection dies)."""
        if self.db.sqlite:
            return True
        if self._connection is not None and not self._connection.closed:
            try:
                await self._connection.execute(sa.text("SELECT 1"))
            except sa.exc.DBAPIError:
                await self.release()  # the session died and took the lock with it; try to lead again
            else:
                return True
        connection = await self.db.engine.connect()
        try:
            lock = sa.func.pg_try_advisory_lock(*self._lock_key())
            acquired = bool((await connection.execute(sa.select(lock))).scalar())
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        if acquired:
            self._connection = connection
            return True
        await connection.close()
        return False

    def _lock_key(self) -> tuple[sa.ColumnElement[int], sa.ColumnElement[int]]:
        return _NAMESPACE, sa.func.hashtext(self.role)

    async def release(self) -> None:
        """Give leadership up; a pooled connection outlives ``close``, so the lock is dropped first."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.execute(sa.select(sa.func.pg_advisory_unlock(*self._lock_key())))
            await connection.commit()
        except sa.exc.DBAPIError:
            await connection.invalidate()  # a dead session holds no lock; never return it to the pool
        await connection.close()


async def lead_periodically(
    db: Database,
    role: str,
    stopping: asyncio.Event,
    step: Callable[[], Awaitable[object]],
    *,
    interval_s: float,
    retry_on: tuple[type[Exception], ...],
) -> None:
    """Run ``step`` every ``interval_s`` while this instance leads ``role``, until ``stopping`` is set.

    A step that fails with one of ``retry_on`` (the database away, a race lost) is logged and tried
    again at the next interval; leadership is given up on the way out.
    """
    leadership = Leadership(db, role)
    try:
        while not stopping.is_set():
            try:
                if await leadership.acquire():
                    await step()
            except retry_on as exc:
                log.warning(
                    "a periodic job failed; the next interval tries again",
                    extra={"job": role, "error": f"{type(exc).__name__}: {exc}"},
                )
            await wait_or_stop(stopping, interval_s)
    finally:
        await leadership.release()
