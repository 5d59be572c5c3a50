"""PostgreSQL advisory locks: one matching run per category at a time.

SQLite needs neither: every write transaction there begins IMMEDIATE, so writers are already serialised.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

# The two-key form with its own namespace keeps these apart from shared.leadership's locks.
_MATCHING = sa.func.hashtext("vidnova.allocation.matching")


async def lock_category(session: AsyncSession, category: str) -> None:
    """Hold the category's matching lock until this transaction ends.

    Every transaction that re-matches a category or lowers its free stock takes this lock before it
    touches a row (so lock order is always: category, then rows), and two instances never compute
    proposals from the same stock at once. Correctness does not rest on it alone: the conditional
    updates in ``ledger`` and the CHECK constraints refuse an over-allocation anyway.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(_MATCHING, sa.func.hashtext(category))))
