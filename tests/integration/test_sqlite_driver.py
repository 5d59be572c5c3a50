"""The embedded default's SQLite driver (shared.sqlite_driver) and its one-connection queue (shared.db).

Always on SQLite files, whatever database the suite picked: this is the driver `make run` uses.
Statements run inline on the event loop's thread; only BEGIN IMMEDIATE, COMMIT and ROLLBACK go to
aiosqlite's worker thread, so a lock held by another process is waited for off the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite.core
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database, UTCDateTime
from shared.sqlite_driver import InlineConnection
from tests.support.polling import eventually

metadata = sa.MetaData()
stock = sa.Table(
    "stock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False, unique=True),
    sa.Column("units", sa.Integer, nullable=False),
    sa.Column("seen_at", UTCDateTime(), nullable=True),
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def loop_keeps_turning(turns: int = 20) -> None:
    """Pass only if the event loop gets to run ``turns`` polls (a blocked loop never gets there)."""
    ticks = 0

    async def tick() -> int:
        nonlocal ticks
        ticks += 1
        return ticks

    await eventually(tick, until=lambda n: n >= turns, interval_s=0.01, what="event loop ticks")


@pytest.fixture
def thread_trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """What is sent to aiosqlite's worker thread, by function name (the real calls still run)."""
    trips: Counter[str] = Counter()
    original = aiosqlite.core.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips[getattr(fn, "__name__", repr(fn))] += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    return trips


async def test_engine_uses_the_inline_driver_on_one_connection(db: Database) -> None:
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, InlineConnection)
    assert db.engine.pool.size() == 1


async def test_statements_run_inline_and_only_begin_commit_and_reset_take_the_thread(
    db: Database, thread_trips: Counter[str]
) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(stock.insert(), [{"name": f"pump-{n}", "units": n} for n in range(5)])
        await connection.execute(stock.update().where(stock.c.units >= 3).values(units=stock.c.units + 10))
        rows = (await connection.execute(sa.select(stock.c.name, stock.c.units).order_by(stock.c.id))).all()
    assert [tuple(r) for r in rows] == [
        ("pump-0", 0),
        ("pump-1", 1),
        ("pump-2", 2),
        ("pump-3", 13),
        ("pump-4", 14),
    ]
    # 3 statements: with SQLAlchemy's adapter that was ~14 trips (cursor, execute, fetch, close each).
    # The rollback is the pool's reset when the connection comes back (a no-op after a commit).
    assert thread_trips == Counter({"_begin_immediate": 1, "commit": 1, "rollback": 1})


async def test_results_carry_rowcount_lastrowid_and_typed_values(db: Database) -> None:
    seen = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    async with db.engine.begin() as connection:
        inserted = await connection.execute(stock.insert().values(name="generator", units=4, seen_at=seen))
        assert inserted.inserted_primary_key == (1,)
        updated = await connection.execute(stock.update().where(stock.c.units > 0).values(units=3))
        assert updated.rowcount == 1
        missed = await connection.execute(stock.update().where(stock.c.units > 100).values(units=0))
        assert missed.rowcount == 0
        row = (await connection.execute(sa.select(stock))).one()
    assert (row.name, row.units, row.seen_at) == ("generator", 3, seen)
    async with db.engine.connect() as connection:
        streamed = await connection.stream(sa.select(stock.c.name))
        assert [r.name async for r in streamed] == ["generator"]


async def test_constraint_violation_is_an_integrity_error_and_rolls_back_whole(db: Database) -> None:
    async def duplicate_names() -> None:
        async with db.engine.begin() as connection:
            await connection.execute(stock.insert().values(name="boiler", units=1))
            await connection.execute(stock.insert().values(name="boiler", units=2))

    with pytest.raises(sa.exc.IntegrityError):
        await duplicate_names()
    async with db.engine.connect() as connection:
        assert (await connection.execute(sa.select(sa.func.count()).select_from(stock))).scalar() == 0
        # The connection went back to the pool clean: the next transaction starts and commits.
        await connection.execute(stock.insert().values(name="boiler", units=1))
        await connection.commit()
    async with db.engine.connect() as connection:
        assert (await connection.execute(sa.select(stock.c.units))).scalars().all() == [1]


async def test_syntax_error_names_the_problem(db: Database) -> None:
    async with db.engine.connect() as connection:
        with pytest.raises(sa.exc.OperationalError, match="no such table: nowhere"):
            await connection.execute(sa.text("SELECT * FROM nowhere"))


async def test_committed_rows_are_on_disk_for_another_connection(db: Database, tmp_path: Path) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(stock.insert().values(name="transformer", units=7))
    other = sqlite3.connect(tmp_path / "driver.db")
    try:
        assert other.execute("SELECT name, units FROM stock").fetchall() == [("transformer", 7)]
    finally:
        other.close()


async def test_concurrent_transactions_queue_for_the_connection_and_none_is_lost(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(stock.insert().values(name="counter", units=0))

    async def increment() -> None:
        async with db.engine.begin() as connection:
            units = (await connection.execute(sa.select(stock.c.units))).scalar_one()
            await asyncio.sleep(0)  # let every other transaction try to start meanwhile
            await connection.execute(stock.update().values(units=units + 1))

    await asyncio.gather(*(increment() for _ in range(40)))
    async with db.engine.connect() as connection:
        assert (await connection.execute(sa.select(stock.c.units))).scalar_one() == 40


async def test_another_process_holding_the_write_lock_is_waited_for_off_the_event_loop(
    db: Database, tmp_path: Path
) -> None:
    blocker = sqlite3.connect(tmp_path / "driver.db", isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    blocker.execute("INSERT INTO stock (name, units) VALUES ('held', 1)")

    async def write() -> None:
        async with db.engine.begin() as connection:
            await connection.execute(stock.insert().values(name="waiting", units=2))

    writer = asyncio.create_task(write())
    # The loop keeps running while the writer waits in BEGIN IMMEDIATE on aiosqlite's thread.
    await loop_keeps_turning()
    assert not writer.done()
    blocker.execute("COMMIT")
    blocker.close()
    await asyncio.wait_for(writer, timeout=30)
    async with db.engine.connect() as connection:
        names = (await connection.execute(sa.select(stock.c.name).order_by(stock.c.id))).scalars().all()
    assert names == ["held", "waiting"]


async def test_orm_session_round_trip(db: Database) -> None:
    async with db.session() as session, session.begin():
        await session.execute(stock.insert().values(name="crane", units=1))
        connection: AsyncConnection = await session.connection()
        assert (await connection.execute(sa.select(stock.c.name))).scalar_one() == "crane"


async def test_a_transaction_cancelled_while_waiting_for_the_lock_leaves_the_connection_clean(
    db: Database, tmp_path: Path
) -> None:
    # A request timed out or a client gone while BEGIN IMMEDIATE waits on aiosqlite's thread: the
    # connection goes back to the pool, and must not come out of it later inside that transaction.
    blocker = sqlite3.connect(tmp_path / "driver.db", isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")

    async def write(name: str) -> None:
        async with db.engine.begin() as connection:
            await connection.execute(stock.insert().values(name=name, units=1))

    waiting = asyncio.create_task(write("abandoned"))
    await loop_keeps_turning()
    assert not waiting.done()
    waiting.cancel()
    blocker.execute("COMMIT")  # the abandoned BEGIN now succeeds on the thread; the reset must follow it
    blocker.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    for name in ("next", "after"):
        await asyncio.wait_for(write(name), timeout=30)
    async with db.engine.connect() as connection:
        names = (await connection.execute(sa.select(stock.c.name).order_by(stock.c.id))).scalars().all()
    assert names == ["next", "after"]
