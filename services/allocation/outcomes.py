"""What a matching run writes: each proposal's allocation row and event, and the waitlist reports.

Rows are written with Core statements, a few per run (``record_proposals``, ``ledger``): a slice of a
big re-match records hundreds of proposals, and an ORM object per row cost ~1 ms each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation import ledger, matching
from services.allocation.domain import waitlist_reason
from services.allocation.events import SOURCE, allocation_event, waitlisted
from services.allocation.models import Allocation, Demand, Donor, Lot
from services.allocation.settings import Policy
from shared.actor import current_actor, is_system_actor, system_actor
from shared.db import flushed_connection
from shared.events.envelope import CloudEvent
from shared.events.payloads import AllocationProposed
from shared.outbox import emit

MATCHING = system_actor("matching")


@dataclass(frozen=True)
class Causes:
    """The event each request's proposals and waitlist report are caused by: the run's, or its own."""

    common: CloudEvent | None
    by_request: Mapping[UUID, CloudEvent | None]

    def of(self, request_id: UUID) -> CloudEvent | None:
        """The cause of this request's events."""
        return self.by_request.get(request_id, self.common)


def matching_actor() -> str:
    """A person's request that triggered matching is theirs; anywhere else matching is its own job."""
    actor = current_actor()
    return actor if actor and not is_system_actor(actor) else MATCHING


async def record_proposals(
    session: AsyncSession,
    proposals: matching.Proposals,
    demands: dict[UUID, Demand],
    lots: dict[UUID, Lot],
    donors: dict[str, Donor],
    *,
    policy: Policy,
    causes: Causes,
    now: datetime,
) -> list[UUID]:
    """An allocation row and an ``allocation.proposed`` event per proposal; the new allocations' ids.

    The rows go in as one Core INSERT (executemany): an ORM object per row cost ~1 ms to construct and
    flush. They are written at once, so the rest of the transaction (a cancellation in the same
    consumer batch, say) finds them like any other row.
    """
    rows: list[dict[str, Any]] = []
    actor = matching_actor()
    expires_at = now + policy.proposal_ttl
    for proposal in proposals:
        demand, lot = demands[proposal.request_id], lots[proposal.lot_id]
        row = ProposedRow(
            id=uuid4(),
            request_id=demand.request_id,
            lot_id=lot.id,
            donor_id=lot.donor_id,
            region=demand.region,
            category=demand.category,
            quantity=proposal.quantity,
            reason=proposal.reason.describe(),
            reason_facts=asdict(proposal.reason),
        )
        rows.append(row.values(now=now, expires_at=expires_at))
        payload = allocation_event(
            AllocationProposed,
            row,
            demand,
            donors.get(lot.donor_id),
            reason=row.reason,
            reason_facts=row.reason_facts,
            expires_at=expires_at,
        )
        emit(session, payload, source=SOURCE, caused_by=causes.of(row.request_id), actor=actor)
    if rows:
        await (await flushed_connection(session)).execute(sa.insert(ALLOCATIONS), rows)
    return [row["id"] for row in rows]


ALLOCATIONS: sa.Table = Allocation.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ProposedRow:
    """A new proposal's allocation row, before it is written: what its event tells of it."""

    id: UUID
    request_id: UUID
    lot_id: UUID
    donor_id: str
    region: str
    category: str
    quantity: int
    reason: str
    reason_facts: dict[str, Any]

    def values(self, *, now: datetime, expires_at: datetime) -> dict[str, Any]:
        """The row's columns; the lifecycle's columns keep their defaults (empty serials, nulls)."""
        return {
            **{name: getattr(self, name) for name in self.__slots__},
            "status": "proposed",
            "created_at": now,
            "updated_at": now,
            "expires_at": expires_at,
            "serials": [],
        }


async def report_waitlist(
    session: AsyncSession, demands: dict[UUID, Demand], taken: Counter[UUID], *, causes: Causes
) -> dict[UUID, int]:
    """Tell of units left waiting, but only where their number changed since the last report.

    Returns the units reported waiting, by request.
    """
    reported: dict[UUID, int] = {}
    waiting_now: dict[UUID, int] = {}
    for request_id in sorted(demands):
        demand = demands[request_id]
        waiting = demand.unmet - taken[request_id]
        if waiting == demand.waitlisted_reported:
            continue
        if waiting > 0:
            reason = waitlist_reason(category=demand.category, quantity=demand.quantity, uncovered=waiting)
            report = waitlisted(demand, unmet=waiting, reason=reason)
            emit(session, report, source=SOURCE, caused_by=causes.of(request_id), actor=matching_actor())
            waiting_now[request_id] = waiting
        reported[request_id] = waiting
    await ledger.set_waitlisted_reported(session, reported)
    return waiting_now
