"""The slices after the first of a big re-match, each in its own transaction, run by this process's job.

Between two slices the connection and the category's lock are free: other calls run meanwhile, and a
write that re-matches the category starts a new run from the top (``RematchRuns.resume``). Runs live
in this process's memory: if it stops mid-run, the rest of the backlog waits for the category's next
change of stock (or ``POST /v1/matching/run``).
"""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa

from services.allocation.backlog import Continuation, RematchRuns
from services.allocation.ledger import StockConflict
from services.allocation.locks import lock_category
from services.allocation.rematch import MatchOutcome, match_demands, match_slice, unmet_demands
from services.allocation.settings import Policy
from shared.actor import acting_as
from shared.db import Database, utcnow
from shared.service import BackgroundJob, Runtime
from shared.stopping import wait_or_stop

log = logging.getLogger(__name__)
RETRY_AFTER_S = 1.0
IDLE_S = 60.0


async def continue_run(db: Database, runs: RematchRuns, policy: Policy, category: str) -> MatchOutcome:
    """One transaction of the category's run: its next slice, or once the backlog is done, one deferral."""
    run = runs.get(category)
    if run is None:
        return MatchOutcome()
    if run.backlog_done:
        return await _match_deferred(db, runs, run, policy)
    async with db.session() as session, session.begin():
        await lock_category(session, category)
        if runs.get(category) is not run:
            return MatchOutcome()  # a newer run replaced it while this transaction waited
        with acting_as(run.actor):
            outcome, cursor = await match_slice(session, run, policy=policy)
    if cursor is None:
        run.backlog_done = True
        runs.finish(run)
    else:
        run.after, run.ranked = cursor
    return outcome


async def _match_deferred(db: Database, runs: RematchRuns, run: Continuation, policy: Policy) -> MatchOutcome:
    """Match the first request deferred during the run alone, as its own event would have."""
    if not run.deferred:
        runs.finish(run)
        return MatchOutcome()
    deferred = run.deferred[0]
    async with db.session() as session, session.begin():
        await lock_category(session, run.category)
        demands = await unmet_demands(session, run.category, deferred.request_id)
        with acting_as(deferred.actor):
            outcome = await match_demands(session, demands, policy=policy, cause=deferred.cause, now=utcnow())
    run.deferred.pop(0)
    if not run.deferred:
        runs.finish(run)
    return outcome


async def finish_runs(db: Database, policy: Policy) -> int:
    """Run every run in progress to its end; returns the transactions it took (tests, the admin run)."""
    runs = policy.runs
    transactions = 0
    while runs is not None and (categories := runs.categories()):
        for category in categories:
            await continue_run(db, runs, policy, category)
            transactions += 1
    return transactions


def continuation_job(policy: Policy) -> BackgroundJob:
    """The job that runs the slices left by sliced re-matches, one transaction at a time."""

    async def continue_rematches(runtime: Runtime) -> None:
        runs = policy.runs
        if runs is None:
            return
        runs.wake = asyncio.Event()
        while not runtime.stopping.is_set():
            categories = runs.categories()
            if not categories:
                runs.wake.clear()
                if not runs.categories():
                    await wait_or_stop(runtime.stopping, IDLE_S, wake=runs.wake)
                continue
            for category in categories:
                try:
                    await continue_run(runtime.db, runs, policy, category)
                except (sa.exc.SQLAlchemyError, OSError, StockConflict) as exc:
                    log.warning(
                        "re-match slice failed; retrying",
                        extra={"category": category, "error": f"{type(exc).__name__}: {exc}"},
                    )
                    await wait_or_stop(runtime.stopping, RETRY_AFTER_S)
                await asyncio.sleep(0)  # let waiting calls have the connection between slices
        if runs.categories():
            log.warning("re-matches left unfinished at shutdown", extra={"categories": runs.categories()})

    return continue_rematches
