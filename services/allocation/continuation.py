"""The slices after the first of a big re-match, each in its own transaction, run by the continuation job.

Between two slices the connection and the category's lock are free: other calls run meanwhile, and a
write that re-matches the category starts a new run from the top (``backlog.save_run``). Where a run
stands is committed with each slice (``rematch_runs``), so the job reads it from the database: after a
restart it goes on where the last committed slice left off, and on PostgreSQL any replica may take
the next slice (the category's lock orders them; each reads the cursor the previous one wrote).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation import backlog
from services.allocation.backlog import Continuation, RematchRuns
from services.allocation.ledger import StockConflict
from services.allocation.locks import lock_category
from services.allocation.rematch import (
    MatchOutcome,
    match_demands,
    match_slice,
    record_progress,
    unmet_demands,
)
from services.allocation.settings import Policy
from shared.actor import acting_as
from shared.db import Database, utcnow
from shared.service import BackgroundJob, Runtime
from shared.stopping import wait_or_stop

log = logging.getLogger(__name__)
RETRY_AFTER_S = 1.0
IDLE_S = 60.0
LEFTOVER_SLICE = 2000  # slices of a run left by a process with slicing on, when it is now off


async def continue_run(db: Database, policy: Policy, category: str) -> MatchOutcome:
    """One transaction of the category's run: its next slice, or once the backlog is done, one deferral."""
    async with db.session() as session, session.begin():
        await lock_category(session, category)
        run = await backlog.load_run(session, category)
        if run is None:
            return MatchOutcome()  # finished meanwhile (another replica, or a newer run in one slice)
        if run.backlog_done:
            return await _match_deferred(session, run, policy)
        with acting_as(run.actor):
            outcome, cursor = await match_slice(session, run, policy=policy)
        await record_progress(session, run, cursor)
        return outcome


async def _match_deferred(session: AsyncSession, run: Continuation, policy: Policy) -> MatchOutcome:
    """Match the first request deferred during the run alone, as its own event would have."""
    deferred = await backlog.next_deferred(session, run.category)
    outcome = MatchOutcome()
    if deferred is not None:
        run.deferred.remove(deferred.request_id)
        demands = await unmet_demands(session, run.category, [deferred.request_id])
        with acting_as(deferred.actor):
            outcome = await match_demands(session, demands, policy=policy, cause=deferred.cause, now=utcnow())
    await backlog.save_run(session, run)  # the run's row goes with its last deferral
    return outcome


async def unfinished(db: Database) -> list[str]:
    """Categories with a run in progress, oldest first."""
    async with db.session() as session:
        return await backlog.categories_in_progress(session)


async def finish_runs(db: Database, policy: Policy) -> int:
    """Run every run in progress to its end; returns the transactions it took (tests, the admin run)."""
    transactions = 0
    while policy.runs is not None and (categories := await unfinished(db)):
        for category in categories:
            await continue_run(db, policy, category)
            transactions += 1
    return transactions


def continuation_job(policy: Policy) -> BackgroundJob:
    """The job that runs the slices left by sliced re-matches, one transaction at a time.

    It looks at the database first, so runs a stopped process left unfinished resume at start-up.
    """

    async def continue_rematches(runtime: Runtime) -> None:
        runs = policy.runs
        if runs is None:  # slicing off: finish what a run with slicing on left, then nothing to do
            await finish_runs(runtime.db, replace(policy, runs=RematchRuns(LEFTOVER_SLICE)))
            return
        runs.wake = asyncio.Event()
        while not runtime.stopping.is_set():
            runs.wake.clear()
            try:
                categories = await unfinished(runtime.db)
                for category in categories:
                    await continue_run(runtime.db, policy, category)
                    await asyncio.sleep(0)  # let waiting calls have the connection between slices
            except (sa.exc.SQLAlchemyError, OSError, StockConflict) as exc:
                log.warning(
                    "re-match slice failed; retrying", extra={"error": f"{type(exc).__name__}: {exc}"}
                )
                await wait_or_stop(runtime.stopping, RETRY_AFTER_S)
                continue
            if not categories:
                await wait_or_stop(runtime.stopping, IDLE_S, wake=runs.wake)

    return continue_rematches
