"""A category's unmet demand read in order of service, a slice at a time, and the re-matches in progress.

A big change of stock is matched in slices (``rematch``): each slice is the next ``size`` unmet
demands in the engine's order of service, keyed in SQL exactly as ``matching.service_order`` sorts
(priority, front-line, needed_by, submitted_at, request id), so slices taken one after another are
the one big run's demands, in its order, and no slice holds more than ``size`` demands in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation import ledger, matching
from services.allocation.models import Demand
from shared.events.envelope import CloudEvent
from shared.geography import all_regions, get_region

ServiceKey = tuple[int, int, date, datetime, UUID]


def service_key_sql() -> tuple[sa.ColumnElement[Any], ...]:
    """``matching.service_order`` as SQL: the same tuple, compared the same way."""
    front_line = [region.code for region in all_regions() if region.front_line]
    return (
        sa.case(dict(matching.PRIORITY_RANK), value=col(Demand.priority)),
        sa.case((col(Demand.region).in_(front_line), 0), else_=1),
        *(cast(sa.ColumnElement[Any], col(c)) for c in (Demand.needed_by, Demand.submitted_at)),
        cast(sa.ColumnElement[Any], col(Demand.request_id)),
    )


def service_key(demand: Demand) -> ServiceKey:
    """A demand's place in the order of service (its row's ``service_key_sql``)."""
    region = get_region(demand.region)
    front_line = region is not None and region.front_line
    rank = matching.PRIORITY_RANK[demand.priority]  # type: ignore[index]  # a Priority by contract
    return (rank, 0 if front_line else 1, demand.needed_by, demand.submitted_at, demand.request_id)


async def next_unmet(
    session: AsyncSession,
    category: str,
    *,
    after: ServiceKey | None,
    limit: int,
    stale_only: bool = False,
    excluding: Sequence[UUID] = (),
) -> list[Demand]:
    """The next ``limit`` unmet demands of the category after ``after``, in order of service.

    ``stale_only``: only those whose last waitlist report differs from their unmet units (the only
    ones a slice with no free stock left can change); ``excluding``: requests submitted during the run.
    """
    key = service_key_sql()
    unmet = col(Demand.quantity) - ledger.demand_committed()
    query = select(Demand).where(col(Demand.category) == category, col(Demand.open), unmet > 0)
    if stale_only:
        query = query.where(col(Demand.waitlisted_reported) != unmet)
    if excluding:
        query = query.where(col(Demand.request_id).not_in(excluding))
    if after is not None:
        bound = [sa.bindparam(None, value, type_=expr.type) for expr, value in zip(key, after, strict=True)]
        query = query.where(sa.tuple_(*key) > sa.tuple_(*bound))
    query = query.order_by(*key).limit(limit).execution_options(populate_existing=True)
    return list((await session.exec(query)).all())


@dataclass(frozen=True)
class Deferred:
    """A new request's own matching, put off until the category's re-match in progress ends."""

    request_id: UUID
    cause: CloudEvent | None
    actor: str


@dataclass
class Continuation:
    """Where a sliced re-match of one category stands between two of its transactions."""

    category: str
    after: ServiceKey | None  # the last demand matched; None: the run has not started
    ranked: int  # unmet demands in the slices already matched: the next slice's ranks start after them
    cause: CloudEvent | None
    actor: str
    now: datetime
    deferred: list[Deferred] = field(default_factory=list)
    backlog_done: bool = False  # every slice matched; the deferred requests are left


class RematchRuns:
    """This process's sliced re-matches in progress, one per category, resumed by ``continuation``.

    While a category's run is in progress, a new request is not matched alone (the backlog after the
    run's cursor may still fit the free stock): it waits in ``deferred`` and is matched alone when
    the run ends, as if its event had waited for one big transaction to finish.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._runs: dict[str, Continuation] = {}
        self.wake: Any = None  # an asyncio.Event set by the job that drains the runs

    def in_progress(self, category: str) -> bool:
        """Whether a sliced re-match of the category has slices left."""
        return category in self._runs

    def categories(self) -> Sequence[str]:
        """Categories with a run in progress, oldest first."""
        return list(self._runs)

    def get(self, category: str) -> Continuation | None:
        """The category's run in progress, if any."""
        return self._runs.get(category)

    def defer(self, category: str, deferred: Deferred) -> None:
        """Put a new request's matching off until the category's run ends."""
        self._runs[category].deferred.append(deferred)

    def resume(self, continuation: Continuation) -> None:
        """Record where a run stands; a new run of the category replaces the old (it starts from the top)."""
        previous = self._runs.get(continuation.category)
        if previous is not None and previous is not continuation:
            continuation.deferred = previous.deferred + continuation.deferred
        self._runs[continuation.category] = continuation
        if self.wake is not None:
            self.wake.set()

    def finish(self, continuation: Continuation) -> bool:
        """End the run unless requests were deferred meanwhile (or a newer run replaced it)."""
        if self._runs.get(continuation.category) is not continuation or continuation.deferred:
            return False
        del self._runs[continuation.category]
        return True
