"""aiosqlite for SQLAlchemy, with statements run inline and only the waits on a thread.

aiosqlite runs every call on a worker thread: a queue put, a thread wake-up, a GIL hand-over,
then a wake-up of the event loop with the result. SQLAlchemy's adapter makes a cursor, executes,
fetches and closes it as four such calls, so a two-row transaction took eleven trips; under load
the hand-overs were ~10% of each service's CPU while SQLite itself spent 30-150 µs per statement
(profiles in the issue note of `make bench`). Here a statement runs on the event loop's thread, as
one plain call that fetches every row, and only what can wait goes to aiosqlite's thread:
``BEGIN IMMEDIATE`` (waits for another process's write lock, up to busy_timeout), ``COMMIT``
(fsync with synchronous=FULL; a checkpoint now and then) and ``ROLLBACK`` (which must queue behind
them: see ``InlineConnection``). Inside a transaction that holds the
write lock a WAL statement never waits for another connection, so nothing inline blocks for long.

The connection is shared by the two threads but never used by both at once: a session runs one
call at a time and awaits each trip before the next statement. It relies on aiosqlite's private
``Connection._execute`` (queue a callable on its thread), the seam SQLAlchemy's own adapter uses
for ``isolation_level``; aiosqlite is pinned in constraints.txt and
tests/integration/test_sqlite_driver.py checks the behaviour.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# What one statement leaves behind: description, rows, rowcount, lastrowid.
_Outcome = tuple[Any, list[Any], int, int | None]


def _run_statement(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    cursor = connection.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _run_many(connection: sqlite3.Connection, operation: str, parameters: Sequence[Any]) -> _Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, parameters)
        return None, [], cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


async def _inline(statement: Callable[..., _Outcome], *args: Any) -> _Outcome:
    """Run on the event loop's side of the greenlet: no thread, but the switch SQLAlchemy requires
    of an async driver (``AsyncConnection.execute`` refuses a call that never awaited)."""
    return statement(*args)


def _begin_immediate(connection: sqlite3.Connection) -> None:
    connection.execute("BEGIN IMMEDIATE").close()


class InlineCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statements run inline; rows are fetched whole and buffered."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # No driver cursor is made here (in aiosqlite that was a thread trip): each statement makes one.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows: collections.deque[Any] = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:  # None until a row is inserted, as in sqlite3
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        """Rows are fetched whole, so there is nothing to size."""

    async def _async_soft_close(self) -> None:
        """Nothing to close: the driver cursor is closed as soon as its statement has run."""

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        try:
            self._take(await_(_inline(_run_statement, self._connection._conn, operation, parameters)))
        except Exception as error:  # noqa: BLE001 (translated, as SQLAlchemy's adapter does)
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        try:
            self._take(await_(_inline(_run_many, self._connection._conn, operation, seq_of_parameters)))
        except Exception as error:  # noqa: BLE001
            self._adapt_connection._handle_exception(error)

    def _take(self, outcome: _Outcome) -> None:
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def nextset(self) -> None:
        """SQLite statements have one result set."""


class InlineConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter with inline cursors; waits stay on the thread."""

    __slots__ = ()
    _cursor_cls = InlineCursor

    def begin_immediate(self) -> None:
        """Take the write lock on aiosqlite's thread: another process may hold it (busy_timeout)."""
        try:
            await_(self._connection._execute(_begin_immediate, self._connection._conn))
        except Exception as error:  # noqa: BLE001
            self._handle_exception(error)

    # rollback() stays SQLAlchemy's: on aiosqlite's thread, queued behind a BEGIN or COMMIT still
    # running there when a cancelled task hands its connection back to the pool. Run inline, it would
    # go first, and that BEGIN would then leave the pooled connection inside a transaction.


class InlineSqliteDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module handed to ``create_async_engine(module=...)`` for ``sqlite+aiosqlite`` URLs."""

    def connect(self, *arg: Any, **kw: Any) -> InlineConnection:
        # Statements run on the loop's thread, BEGIN and COMMIT on aiosqlite's: never both at once.
        kw["check_same_thread"] = False
        connection = aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy does: a leaked connection never blocks exit
        return InlineConnection(self, cast(Any, await_(connection)))


def inline_sqlite_dbapi() -> InlineSqliteDBAPI:
    """A fresh DB-API adapter for aiosqlite that runs statements inline."""
    return InlineSqliteDBAPI(aiosqlite, sqlite3)
