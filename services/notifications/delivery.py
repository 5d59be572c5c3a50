"""The delivery worker: claims due e-mail and webhook jobs, attempts them, records every attempt.

The consumer only writes jobs, so a slow receiver never holds a partition. Jobs are claimed with
``FOR UPDATE SKIP LOCKED`` and a lease (PostgreSQL: many workers, none gets a job another holds;
SQLite: one process, transactions are serialised), attempted concurrently up to a bound, each
under a timeout, and each outcome is recorded together with its ``notification.*`` event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import httpx
import sqlalchemy as sa
from prometheus_client import Counter
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications import events
from services.notifications.account_links import ERASED_BODY, holds_secret
from services.notifications.channels import (
    Channels,
    DeliveryError,
    Job,
    WebhookSender,
    build_email_channel,
    with_attachments,
)
from services.notifications.models import JOBS_QUEUED, Delivery, DeliveryAttempt, Subscription
from services.notifications.retries import AttemptResult, NextStep, next_step
from services.notifications.settings import DeliverySettings, NotificationsSettings
from services.notifications.webhooks import SecretBox, TargetPolicy, derived_secret
from shared.db import Database, utcnow
from shared.outbox import add_event
from shared.redaction import describe_error, redact
from shared.service import BackgroundJob, Runtime
from shared.stopping import wait_or_stop

log = logging.getLogger(__name__)
ATTEMPTS = Counter(
    "vidnova_notification_attempts_total", "Delivery attempts by channel and outcome", ["channel", "outcome"]
)


class DeliveryWorker:
    """Claims due jobs and attempts them, at most ``concurrency`` at a time."""

    def __init__(
        self,
        *,
        db: Database,
        channels: Channels,
        tuning: DeliverySettings,
        master_secret: str,
        stopping: asyncio.Event,
    ) -> None:
        self.db = db
        self.channels = channels
        self.tuning = tuning
        self.master_secret = master_secret
        self.box = SecretBox(master_secret)
        self.stopping = stopping
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Look for due jobs now (a transaction that may have queued some has committed)."""
        self._wake.set()

    async def run(self) -> None:
        """Claim and attempt until stopped; then let attempts in flight finish and record them."""
        backoff = 0.1
        while not self.stopping.is_set():
            self._wake.clear()
            free = self.tuning.concurrency - len(self._in_flight)
            claimed: list[Job] = []
            if free > 0:
                try:
                    claimed = await self.claim(limit=free)
                except (sa.exc.SQLAlchemyError, OSError) as exc:
                    log.warning("delivery worker waiting for the database", extra={"error": str(exc)})
                    await wait_or_stop(self.stopping, backoff, wake=self._wake)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.1
            for job in claimed:
                self._start(job)
            if free == 0 or len(claimed) < free:
                await wait_or_stop(self.stopping, self.tuning.poll_interval_s, wake=self._wake)
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _start(self, job: Job) -> None:
        task = asyncio.create_task(self.attempt(job), name=f"delivery:{job.id}")
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()  # a slot is free
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery attempt task failed", exc_info=task.exception())

    async def claim(self, *, limit: int) -> list[Job]:
        """Lease up to ``limit`` due jobs to this worker; each claim counts as an attempt."""
        now = utcnow()
        token = uuid4()
        async with self.db.session() as session, session.begin():
            rows = (
                await session.exec(
                    select(Delivery)
                    .where(
                        # Inline, so that the planner can use the partial index (status = 'pending').
                        col(Delivery.status) == sa.literal("pending", literal_execute=True),
                        col(Delivery.next_attempt_at) <= now,
                        or_(col(Delivery.leased_until).is_(None), col(Delivery.leased_until) <= now),
                    )
                    .order_by(col(Delivery.next_attempt_at))
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return []
            keys = await self._signing_keys(
                session, {r.subscription_id for r in rows if r.channel == "webhook"}
            )
            for row in rows:
                row.attempts += 1
                row.leased_until = now + timedelta(seconds=self.tuning.lease_s)
                row.claim_token = token
            return [_job(row, token, keys.get(row.subscription_id)) for row in rows]

    async def _signing_keys(self, session: AsyncSession, ids: set[UUID | None]) -> dict[UUID | None, str]:
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return {}
        rows = (await session.exec(select(Subscription).where(col(Subscription.id).in_(wanted)))).all()
        keys: dict[UUID | None, str] = {}
        for subscription in rows:
            if subscription.secret is not None:
                keys[subscription.id] = self.box.open(subscription.secret)
            else:  # created before secrets were stored: derived from the master secret
                keys[subscription.id] = derived_secret(self.master_secret, str(subscription.id))
        return keys

    async def attempt(self, job: Job) -> None:
        """Send once under the attempt timeout, then record what happened."""
        started = utcnow()
        clock = time.perf_counter()
        timeout = self.tuning.attempt_timeout_s
        try:
            job = await with_attachments(job)  # before the attempt's timeout, which is the receiver's
            status = await asyncio.wait_for(self.channels.for_job(job).send(job), timeout)
            result = AttemptResult(ok=True, response_status=status)
        except DeliveryError as exc:
            result = AttemptResult(
                ok=False, error=redact(str(exc)), retryable=exc.retryable, response_status=exc.response_status
            )
        except TimeoutError:
            result = AttemptResult(ok=False, error=f"timed out after {timeout:g} s", retryable=True)
        except Exception as exc:  # a sender bug must not stop the worker: logged, recorded, retried
            log.exception("unexpected error delivering", extra={"delivery_id": str(job.id)})
            result = AttemptResult(ok=False, error=describe_error(exc), retryable=True)
        duration_ms = (time.perf_counter() - clock) * 1000
        try:
            await self.record(job, result, started=started, duration_ms=duration_ms)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            # The lease expires and the job is tried again; receivers dedupe on the delivery id.
            log.warning(
                "could not record a delivery attempt", extra={"delivery_id": str(job.id), "error": str(exc)}
            )

    async def record(self, job: Job, result: AttemptResult, *, started: datetime, duration_ms: float) -> None:
        """Record the attempt and, if this worker still holds the job, its new state and event."""
        now = utcnow()
        step = next_step(
            result,
            attempt=job.number,
            max_attempts=self.tuning.max_attempts,
            now=now,
            base_s=self.tuning.backoff_base_s,
            cap_s=self.tuning.backoff_max_s,
        )
        ATTEMPTS.labels(job.channel, step.outcome).inc()
        async with self.db.session() as session, session.begin():
            session.add(
                DeliveryAttempt(
                    delivery_id=job.id,
                    number=job.number,
                    started_at=started,
                    finished_at=now,
                    duration_ms=round(duration_ms, 3),
                    outcome=step.outcome,
                    error=result.error[:2000] if result.error else None,
                    response_status=result.response_status,
                )
            )
            delivery = await session.get(Delivery, job.id, with_for_update=True)
            if delivery is None or delivery.status != "pending" or delivery.claim_token != job.claim_token:
                return  # cancelled, or the lease ran out and another worker owns the job now
            _apply(delivery, step, result, now)
            if step.outcome != "retry":
                add_event(session, events.delivery_outcome(delivery, error=result.error))
        log.info(
            "delivery attempt",
            extra={
                "delivery_id": str(job.id),
                "channel": job.channel,
                "outcome": step.outcome,
                "n": job.number,
            },
        )


def _job(row: Delivery, token: UUID, signing_key: str | None) -> Job:
    return Job(
        id=row.id,
        number=row.attempts,
        claim_token=token,
        channel=row.channel,
        target=row.target,
        locale=row.locale,
        title=row.title,
        body=row.body,
        data=row.data,
        source_event_id=row.source_event_id,
        source_event_type=row.source_event_type,
        subject_id=row.subject_id,
        signing_key=signing_key,
    )


def _apply(delivery: Delivery, step: NextStep, result: AttemptResult, now: datetime) -> None:
    delivery.leased_until = None
    delivery.claim_token = None
    delivery.last_error = result.error[:2000] if result.error else None
    if step.outcome == "retry":
        assert step.retry_at is not None
        delivery.next_attempt_at = step.retry_at
        return
    delivery.status = step.outcome
    delivery.finished_at = now
    if holds_secret(delivery.source_event_type):
        delivery.body = ERASED_BODY  # SPEC §12: no copy of a one-time link once the job is over


def delivery_job(settings: NotificationsSettings) -> BackgroundJob:
    """The background job of the notifications service (``ServiceDefinition.jobs``), bound to its settings."""

    async def run_delivery_worker(runtime: Runtime) -> None:
        await _run_delivery_worker(runtime, settings)

    return run_delivery_worker


async def _run_delivery_worker(runtime: Runtime, settings: NotificationsSettings) -> None:
    tuning = settings.delivery
    # The attempt timeout (asyncio) is the one that counts; the client's own is only a backstop.
    timeout = httpx.Timeout(tuning.attempt_timeout_s + 1.0)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        channels = Channels(
            email=build_email_channel(settings, timeout_s=tuning.attempt_timeout_s),
            webhook=WebhookSender(
                client,
                policy=TargetPolicy.for_settings(settings),
            ),
        )
        worker = DeliveryWorker(
            db=runtime.db,
            channels=channels,
            tuning=tuning,
            master_secret=settings.webhook_master_secret(),
            stopping=runtime.stopping,
        )
        runtime.db.on_news(JOBS_QUEUED, worker.wake)  # the consumer's transactions that queue jobs say so
        await worker.run()
