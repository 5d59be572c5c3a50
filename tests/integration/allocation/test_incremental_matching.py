"""A new request is matched alone: the rest of the backlog fits none of the free stock (rematch's invariant).

Random sequences of stock and requests go through the real use cases on the real database; after
them, re-matching every category from scratch (``POST /v1/matching/run``'s code) must find nothing
left to propose and no waitlist figure to correct. Had a request matched alone missed stock it
could take, or taken stock another request should have had first, the full run would show it.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import hypothesis
import sqlalchemy as sa
from hypothesis import strategies as st

from services.allocation import demands, inventory
from services.allocation.rematch import run_matching
from services.allocation.schemas import LotCreate
from services.allocation.settings import Policy
from shared.auth import Principal
from shared.db import Database
from shared.events.envelope import new_event
from shared.migrations import upgrade
from tests.conftest import Infra
from tests.factories import lot_body, request_submitted
from tests.support.api_fuzz import examples_per_operation
from tests.support.infra import new_database_url

POLICY = Policy(proposal_ttl=timedelta(hours=72))
DONOR = Principal(sub="jica", role="donor", donor_id="jica")
REGIONS = ("UA-63", "UA-32", "UA-46", "UA-12")
POWER = (100, 250, 500)

lots = st.fixed_dictionaries(
    {
        "kind": st.just("lot"),
        "power_kw": st.sampled_from(POWER),
        "phases": st.sampled_from(("single", "three")),
        "region": st.sampled_from(REGIONS),
        "eligible": st.none() | st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True),
        "quantity": st.integers(1, 3),
    }
)
requests = st.fixed_dictionaries(
    {
        "kind": st.just("request"),
        "power_kw": st.sampled_from(POWER),
        "phases": st.none() | st.sampled_from((["single"], ["three"])),
        "region": st.sampled_from(REGIONS),
        "priority": st.sampled_from(("critical", "high", "medium", "low")),
        "quantity": st.integers(1, 3),
    }
)


async def apply(db: Database, step: dict[str, Any]) -> None:
    """One step through the use case the service runs for it: lot registration or request.submitted."""
    async with db.session() as session, session.begin():
        if step["kind"] == "lot":
            body = lot_body(
                specs={"power_kw": step["power_kw"], "fuel": "diesel", "phases": step["phases"]},
                quantity=step["quantity"],
                location={"region": step["region"], "site": "depot"},
                eligible_regions=step["eligible"],
                available_from=date.today().isoformat(),
            )
            await inventory.register_lot(
                session=session, body=LotCreate.model_validate(body), principal=DONOR, policy=POLICY
            )
        else:
            specs: dict[str, Any] = {"power_kw": step["power_kw"]}
            if step["phases"] is not None:
                specs["phases"] = step["phases"]
            payload = request_submitted(
                specs=specs, region=step["region"], priority=step["priority"], quantity=step["quantity"]
            )
            await demands.record_demand(
                session, payload, policy=POLICY, cause=new_event(payload, source="requests")
            )


async def clear(db: Database) -> None:
    async with db.session() as session, session.begin():
        for table in ("allocations", "demands", "lots", "outbox"):
            await session.execute(sa.text(f"DELETE FROM {table}"))


def test_matching_a_new_request_alone_leaves_nothing_for_a_full_run(infra: Infra) -> None:
    @hypothesis.settings(max_examples=examples_per_operation(), deadline=None, database=None)
    @hypothesis.given(steps=st.lists(lots | requests, min_size=1, max_size=14))
    def check(steps: list[dict[str, Any]]) -> None:
        async def run() -> tuple[int, dict[Any, int]]:
            await clear(db)
            for step in steps:
                await apply(db, step)
            async with db.session() as session:
                _, outcome = await run_matching(session, category=None, policy=POLICY)
            return len(outcome.proposed), outcome.waitlisted

        proposed, waitlisted = loop.run_until_complete(run())
        assert (proposed, waitlisted) == (0, {}), "a full re-match found what matching alone missed"

    loop = asyncio.new_event_loop()
    url = loop.run_until_complete(new_database_url(infra.database, infra.tmp_dir, "alloc_incremental"))
    upgrade("allocation", url)
    db = Database(url)
    try:
        check()
    finally:
        loop.run_until_complete(db.dispose())
        loop.close()
