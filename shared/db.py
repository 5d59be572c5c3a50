"""Async engine and sessions per service; SQLite tuned for the embedded default."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.sqlite_driver import inline_sqlite_dbapi

# The database, not the work, is at fault: a consumer waits and retries, an HTTP caller gets 503.
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,  # no connection free within the pool timeout (SQLite: the writer queue)
    ConnectionError,
    TimeoutError,
)

OUTBOX_PENDING_KEY = "vidnova.outbox_pending"
COMMIT_NEWS_KEY = "vidnova.commit_news"
STAGED_ROWS_KEY = "vidnova.staged_rows"
SQLITE_QUEUE_TIMEOUT_S = 30.0  # as long as busy_timeout: how long a transaction waits for its turn


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def is_sqlite(url: str) -> bool:
    """Whether a database URL names SQLite."""
    return sa.make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite(engine: AsyncEngine, url: str) -> None:
    database = sa.make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so that they can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a 2xx must survive power loss, not only a crash
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Take the write lock up front: a deferred transaction upgrading to a writer fails with
        # SQLITE_BUSY immediately instead of waiting for busy_timeout.
        begin_immediate = getattr(connection.connection.dbapi_connection, "begin_immediate", None)
        if begin_immediate is not None:
            begin_immediate()  # waits for another process's lock off the event loop (shared.sqlite_driver)
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One service's database: engine, session factory and a hook run after commits with events."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        # Errors and logs never show bound values: they hold contact names, phones, e-mails (SPEC §14.7).
        options: dict[str, Any] = {"hide_parameters": True}
        if not self.sqlite:
            # A server can drop idle connections; a SQLite file cannot, so it skips the extra round trip.
            options.update(pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)
        else:
            # Every transaction here begins IMMEDIATE, so SQLite runs one at a time anyway. One connection
            # makes the pool the queue for it: waiters are woken in order the moment it is free, instead
            # of SQLite's busy handler sleeping 1-100 ms between tries (that was ~190 ms per transaction
            # under load, and most of the latency). Other processes on the file still use busy_timeout.
            options.update(pool_size=1, max_overflow=0, pool_timeout=SQLITE_QUEUE_TIMEOUT_S)
            if sa.make_url(url).get_driver_name() == "aiosqlite":
                options.update(module=inline_sqlite_dbapi())  # statements inline, waits on the thread
        self.engine = create_async_engine(url, **options)
        if self.sqlite:
            _prepare_sqlite(self.engine, url)
        self._after_outbox_commit: list[Callable[[], None]] = []
        self._after_news: dict[str, list[Callable[[], None]]] = {}
        session_class = type("OutboxAwareSession", (Session,), {})
        event.listen(session_class, "before_commit", _insert_staged_rows)
        event.listen(session_class, "after_commit", self._on_commit)
        event.listen(session_class, "after_rollback", self._on_rollback)
        self.sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, sync_session_class=session_class, expire_on_commit=False
        )

    def session(self) -> AsyncSession:
        """A new session; use as ``async with db.session() as s, s.begin(): ...``."""
        return self.sessions()

    def on_outbox_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after any commit that wrote outbox rows (wakes the relay)."""
        self._after_outbox_commit.append(callback)

    def on_news(self, news: str, callback: Callable[[], None]) -> None:
        """Call ``callback`` after any commit of a transaction that announced ``news`` (``announce``)."""
        self._after_news.setdefault(news, []).append(callback)

    def _on_commit(self, session: Session) -> None:
        if session.info.pop(OUTBOX_PENDING_KEY, False):
            for callback in self._after_outbox_commit:
                callback()
        for news in session.info.pop(COMMIT_NEWS_KEY, ()):
            for callback in self._after_news.get(news, ()):
                callback()

    def _on_rollback(self, session: Session) -> None:
        session.info.pop(OUTBOX_PENDING_KEY, None)
        session.info.pop(COMMIT_NEWS_KEY, None)
        session.info.pop(STAGED_ROWS_KEY, None)

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


async def flushed_connection(session: AsyncSession) -> AsyncConnection:
    """The session's connection, for Core statements, after flushing what the session holds pending.

    A Core statement on the connection skips the ORM's execution path (~0.3 ms a statement here,
    bench/results) but also its autoflush and its identity map: rows it changes are not refreshed
    in objects already loaded, exactly as with ``synchronize_session=False``.
    """
    await session.flush()
    return await session.connection()


def stage_insert(session: AsyncSession, table: sa.Table, row: dict[str, Any]) -> None:
    """Insert ``row`` into ``table`` as part of this transaction, written just before it commits.

    For append-only rows nothing reads back in the same transaction (outbox, processed events,
    audit): one Core INSERT per table at commit costs a fraction of an ORM object's unit-of-work
    flush (~0.07 ms a row against ~0.35-0.8 ms, bench/results). A rollback discards them with
    everything else.
    """
    staged: dict[sa.Table, list[dict[str, Any]]] = session.info.setdefault(STAGED_ROWS_KEY, {})
    staged.setdefault(table, []).append(row)


def _insert_staged_rows(session: Session) -> None:
    # before_commit runs inside the async session's greenlet, so it may execute SQL synchronously.
    staged: dict[sa.Table, list[dict[str, Any]]] | None = session.info.pop(STAGED_ROWS_KEY, None)
    if staged:
        connection = session.connection()
        for table, rows in staged.items():
            connection.execute(table.insert(), rows)


def announce(session: AsyncSession, news: str) -> None:
    """Have ``Database.on_news(news, …)`` callbacks run once this transaction commits (not on rollback)."""
    session.info.setdefault(COMMIT_NEWS_KEY, set()).add(news)


def dialect_insert(bind: AsyncSession | AsyncConnection) -> Any:
    """The dialect's INSERT construct, which offers ON CONFLICT (PostgreSQL and SQLite alike)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = bind.dialect if isinstance(bind, AsyncConnection) else bind.get_bind().dialect
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert


async def read_one_snapshot(session: AsyncSession) -> None:
    """Make the rest of this transaction read one snapshot (PostgreSQL defaults to one per statement).

    Call before the first query of a read that spans several statements (a row and its children), so
    that a concurrent commit cannot land between them. SQLite transactions are serialisable already.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
