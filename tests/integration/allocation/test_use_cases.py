"""The allocation use cases in-process on the real database: an injected clock, the database's own guards.

No broker and no service process: the use cases are called as the consumer and the routes call them,
inside real transactions, and their effects are read back from the tables and the outbox.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from services.allocation import backlog, demands, inventory, ledger, lifecycle
from services.allocation.domain import IllegalTransition
from services.allocation.expiry import sweep
from services.allocation.models import Allocation, Demand, Lot
from services.allocation.schemas import LotCreate
from services.allocation.settings import Policy
from shared.auth import Principal
from shared.db import Database
from shared.events.envelope import new_event
from shared.events.payloads import RequestCancelled
from shared.leadership import Leadership
from shared.outbox import OutboxRecord
from tests.conftest import Infra
from tests.factories import lot_body, request_submitted
from tests.support.infra import migrated_database

TTL = timedelta(hours=72)
POLICY = Policy(proposal_ttl=TTL)
COORDINATOR = Principal(sub="coord-1", role="coordinator")


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[Database]:
    async with migrated_database(infra.database, infra.tmp_dir, "allocation", "alloc_cases") as database:
        yield database


async def add_lot(db: Database, **overrides: Any) -> Lot:
    body = LotCreate.model_validate(lot_body(donor_id="jica", **overrides))
    async with db.session() as session, session.begin():
        lot, _ = await inventory.register_lot(
            session=session, body=body, principal=COORDINATOR, policy=POLICY
        )
        return lot


async def submit(db: Database, **overrides: Any) -> uuid.UUID:
    payload = request_submitted(**{"specs": {"power_kw": 250}, "quantity": 1, **overrides})
    async with db.session() as session, session.begin():
        await demands.record_demand(
            session, payload, policy=POLICY, cause=new_event(payload, source="requests")
        )
    return payload.request_id


async def allocations_of(db: Database, request_id: uuid.UUID) -> list[Allocation]:
    async with db.session() as session:
        rows = await session.exec(
            select(Allocation)
            .where(col(Allocation.request_id) == request_id)
            .order_by(col(Allocation.created_at))
        )
        return list(rows.all())


async def published(db: Database, key: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    async with db.session() as session:
        rows = await session.exec(
            select(OutboxRecord).where(col(OutboxRecord.key) == str(key)).order_by(col(OutboxRecord.id))
        )
        return [(row.event_type.split(".")[2], json.loads(row.payload)["data"]) for row in rows.all()]


async def test_expiry_follows_the_injected_clock_and_hands_the_stock_to_the_next_in_line(
    db: Database,
) -> None:
    lot = await add_lot(db, quantity=1)
    slow = await submit(db, priority="medium")
    [proposal] = await allocations_of(db, slow)
    urgent = await submit(db, priority="critical")  # arrives once the only unit is proposed: waits
    assert await allocations_of(db, urgent) == []

    assert await sweep(db, now=proposal.expires_at - timedelta(seconds=1), policy=POLICY) == 0
    later = proposal.expires_at + timedelta(seconds=1)
    assert await sweep(db, now=later, policy=POLICY) == 1
    assert await sweep(db, now=later, policy=POLICY) == 0  # nothing is expired twice

    [expired] = await allocations_of(db, slow)
    assert (expired.status, expired.expired_at) == ("expired", later)
    [handed_over] = await allocations_of(db, urgent)
    assert (handed_over.lot_id, handed_over.status) == (lot.id, "proposed")
    assert handed_over.expires_at == later + TTL  # a fresh TTL, counted on the injected clock
    assert [name for name, _ in await published(db, slow)] == ["proposed", "expired", "waitlisted"]
    expired_event = (await published(db, slow))[1][1]
    assert expired_event["proposed_at"].startswith(proposal.created_at.isoformat()[:19])
    async with db.session() as session:
        stored = await session.get(Lot, lot.id)
        assert stored is not None
        assert (stored.proposed, stored.free) == (1, 0)


async def test_expired_proposal_cannot_be_approved(db: Database) -> None:
    await add_lot(db, quantity=1)
    request_id = await submit(db)
    [proposal] = await allocations_of(db, request_id)
    await sweep(db, now=proposal.expires_at, policy=POLICY)
    async with db.session() as session, session.begin():
        with pytest.raises(IllegalTransition) as refused:
            await lifecycle.approve(session=session, allocation_id=proposal.id, principal=COORDINATOR)
    assert refused.value.current == "expired"


async def test_reserving_more_than_the_free_stock_is_refused_and_changes_nothing(db: Database) -> None:
    lot = await add_lot(db, quantity=1, eligible_regions=["UA-21"])  # serves no Kharkiv request
    request_id = await submit(db, quantity=3)
    with pytest.raises(ledger.StockConflict):
        async with db.session() as session, session.begin():
            await ledger.reserve(session, lots={lot.id: 2}, demands={request_id: 2})
    async with db.session() as session:
        stored = await session.get(Lot, lot.id)
        assert stored is not None
        assert stored.proposed == 0


async def backlog_rows(db: Database, count: int, **overrides: Any) -> list[uuid.UUID]:
    """``count`` open demands written straight into the table, as an older process might have left them."""
    rows = [
        Demand(
            **{
                "request_id": uuid.uuid4(),
                "ref": f"UA63-2026-{n:06d}",
                "region": "UA-63",
                "settlement": "Харків",
                "facility_name": "Лікарня",
                "facility_kind": "hospital",
                "category": "generator",
                "specs": {"power_kw": 250},
                "quantity": 2,
                "priority": "high",
                "needed_by": date(2026, 12, 15),
                "submitted_at": datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=n),
                **overrides,
            }
        )
        for n in range(count)
    ]
    async with db.session() as session, session.begin():
        session.add_all(rows)
    return [row.request_id for row in rows]


async def proposed_units(db: Database, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    async with db.session() as session:
        found = await session.exec(select(Demand).where(col(Demand.request_id).in_(ids)))
        return {demand.request_id: demand.proposed for demand in found.all()}


async def test_reserving_for_more_rows_than_one_statement_takes_counts_each_or_none(db: Database) -> None:
    many = ledger.ROWS_PER_STATEMENT + 7  # two statements for the one-unit group, one for the two-unit group
    ids = await backlog_rows(db, many + 3)
    wanted = {request_id: 1 if n < many else 2 for n, request_id in enumerate(ids)}
    async with db.session() as session, session.begin():
        await ledger.reserve(session, lots={}, demands=wanted)
    assert await proposed_units(db, ids) == wanted

    # The one-unit demands have a unit left each, the last has none: one unit more for each is refused whole.
    again = dict.fromkeys(ids[:many], 1) | {ids[-1]: 1}
    with pytest.raises(ledger.StockConflict, match="1 request"):
        async with db.session() as session, session.begin():
            await ledger.reserve(session, lots={}, demands=again)
    assert await proposed_units(db, ids) == wanted


async def test_a_sliced_run_reads_the_backlog_in_the_engine_order_even_from_stale_ranks(db: Database) -> None:
    # Written without ranks (as by an older process): every row says "critical, not front line".
    high = await backlog_rows(db, 2, priority="high", region="UA-46")  # Lviv: not front line
    front = await backlog_rows(db, 2, priority="high", region="UA-63")  # Kharkiv: front line
    low = await backlog_rows(db, 2, priority="low", region="UA-63")
    critical = await backlog_rows(db, 1, priority="critical", region="UA-46")
    async with db.session() as session, session.begin():
        await backlog.refresh_ranks(session, "generator")
        page = await backlog.next_unmet(session, "generator", after=None, limit=3)
        rest = await backlog.next_unmet(session, "generator", after=backlog.service_key(page[-1]), limit=10)
    order = [demand.request_id for demand in page + rest]
    assert order == critical + front + high + low
    ranks = [backlog.service_key(demand)[:2] for demand in page + rest]
    assert ranks == [(0, 1), (1, 0), (1, 0), (1, 1), (1, 1), (3, 0), (3, 0)]


@pytest.mark.parametrize(
    ("table", "statement"),
    [
        ("lots", "UPDATE lots SET proposed = quantity + 1"),
        ("lots", "UPDATE lots SET approved = -1"),
        ("demands", "UPDATE demands SET approved = quantity, proposed = 1"),
    ],
)
async def test_the_database_itself_refuses_an_over_allocation(
    db: Database, table: str, statement: str
) -> None:
    await add_lot(db, quantity=2, eligible_regions=["UA-21"])
    await submit(db, quantity=2)
    with pytest.raises(sa.exc.IntegrityError, match="ck_"):
        async with db.session() as session, session.begin():
            await session.execute(sa.text(statement))


async def test_the_same_request_under_another_event_id_is_matched_once(db: Database) -> None:
    await add_lot(db, quantity=5)
    payload = request_submitted(specs={"power_kw": 250}, quantity=2)
    for _ in range(2):
        async with db.session() as session, session.begin():
            await demands.record_demand(
                session, payload, policy=POLICY, cause=new_event(payload, source="requests")
            )
    assert [a.quantity for a in await allocations_of(db, payload.request_id)] == [2]


async def test_units_returning_to_a_withdrawn_lot_go_back_to_the_donor(db: Database) -> None:
    lot = await add_lot(db, quantity=3)
    request_id = await submit(db, quantity=1)
    [proposal] = await allocations_of(db, request_id)
    async with db.session() as session, session.begin():
        withdrawn = await inventory.withdraw_lot(session=session, lot_id=lot.id, principal=COORDINATOR)
        assert (withdrawn.quantity, withdrawn.free) == (1, 0)
    async with db.session() as session, session.begin():
        await lifecycle.reject(
            session=session, allocation_id=proposal.id, reason="wrong", principal=COORDINATOR, policy=POLICY
        )
    async with db.session() as session:
        stored = await session.get(Lot, lot.id)
        assert stored is not None
        assert (stored.quantity, stored.proposed, stored.free) == (0, 0, 0)
    assert [(n, d["withdrawn_quantity"]) for n, d in await published(db, lot.id) if n == "withdrawn"] == [
        ("withdrawn", 2),
        ("withdrawn", 1),
    ]


async def test_cancellation_of_an_unknown_request_is_refused(db: Database) -> None:
    cancelled = RequestCancelled(
        request_id=uuid.uuid4(), ref="UA63-2026-009999", region="UA-63", status="cancelled", reason="x",
        delivered_quantity=0, cancelled_by="coord-1",
    )  # fmt: skip
    with pytest.raises(LookupError):
        async with db.session() as session, session.begin():
            await demands.cancel_demand(
                session, cancelled, policy=POLICY, cause=new_event(cancelled, source="requests")
            )


async def test_cancelling_twice_releases_once(db: Database) -> None:
    await add_lot(db, quantity=1)
    request_id = await submit(db)
    cancelled = RequestCancelled(
        request_id=request_id, ref="UA63-2026-000001", region="UA-63", status="cancelled",
        reason="grid is back", delivered_quantity=0, cancelled_by="coord-1",
    )  # fmt: skip
    for _ in range(2):
        async with db.session() as session, session.begin():
            await demands.cancel_demand(
                session, cancelled, policy=POLICY, cause=new_event(cancelled, source="requests")
            )
    [released] = await allocations_of(db, request_id)
    assert released.status == "released"
    async with db.session() as session:
        demand = await session.get(Demand, request_id)
        assert demand is not None
        assert (demand.open, demand.proposed, demand.closed_at is not None) == (False, 0, True)


async def actors(db: Database, key: uuid.UUID) -> list[tuple[str, str | None]]:
    """(event name, envelope ``actor``) of the events keyed by ``key``, in publishing order."""
    async with db.session() as session:
        rows = await session.exec(
            select(OutboxRecord).where(col(OutboxRecord.key) == str(key)).order_by(col(OutboxRecord.id))
        )
        return [(row.event_type.split(".")[2], json.loads(row.payload).get("actor")) for row in rows.all()]


async def test_the_sweep_and_consumer_driven_matching_name_their_job_as_actor(db: Database) -> None:
    await add_lot(db, quantity=1)
    slow = await submit(db, priority="medium")  # as the consumer calls it: no person's request is bound
    urgent = await submit(db, priority="critical")
    [proposal] = await allocations_of(db, slow)
    assert await sweep(db, now=proposal.expires_at + timedelta(seconds=1), policy=POLICY) == 1
    assert await actors(db, slow) == [
        ("proposed", "system:matching"),
        ("expired", "system:expiry"),
        ("waitlisted", "system:matching"),
    ]
    assert await actors(db, urgent) == [("waitlisted", "system:matching"), ("proposed", "system:matching")]

    cancelled = RequestCancelled(
        request_id=urgent, ref="UA63-2026-000002", region="UA-63", status="cancelled",
        reason="grid is back", delivered_quantity=0, cancelled_by="kharkiv-admin",
    )  # fmt: skip
    async with db.session() as session, session.begin():
        await demands.cancel_demand(
            session,
            cancelled,
            policy=POLICY,
            cause=new_event(cancelled, source="requests", actor="kharkiv-admin"),
        )
    # The consumer releases on the allocation service's own account; the person is in the cause's actor.
    assert (await actors(db, urgent))[-1] == ("released", "system:allocation")
    assert (await actors(db, slow))[-1] == ("proposed", "system:matching")


async def test_one_instance_at_a_time_leads_the_expiry_sweep(db: Database) -> None:
    if db.sqlite:
        pytest.skip("SQLite serialises writers; leadership is a PostgreSQL advisory lock")
    first, second = Leadership(db, "proposal-expiry"), Leadership(db, "proposal-expiry")
    try:
        assert await first.acquire()
        assert await first.acquire()  # kept while its connection lives
        assert not await second.acquire()
        await first.release()
        assert await second.acquire()  # taken over once the holder lets go
        assert not await first.acquire()
    finally:
        await first.release()
        await second.release()
