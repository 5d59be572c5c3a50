"""One place that wires a service: settings, database, auth, outbox relay, consumers, HTTP app."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import uuid4

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.api_docs import install_api_docs
from shared.auth import TokenVerifier
from shared.consumer import IdempotentConsumer, Subscription
from shared.db import Database
from shared.jwks import JwksKeys
from shared.kafka import broker_reachable
from shared.observability import (
    CORRELATION_HEADER,
    HTTP_LATENCY,
    HTTP_REQUESTS,
    bind_correlation_id,
    configure_logging,
    reset_correlation_id,
)
from shared.outbox import OutboxRelay
from shared.problems import BodySizeLimit, install_problem_handlers
from shared.ratelimit import WriteLimiter
from shared.retention import Prunable, RetentionJob, shared_prunables
from shared.settings import AuthSettings, RetentionSettings, ServiceSettings
from shared.stopping import wait_or_stop
from shared.tracing import (
    SpanKind,
    configure_tracing,
    incoming_traceparent,
    record_status,
    shutdown_tracing,
    span,
)

log = logging.getLogger(__name__)

BackgroundJob = Callable[["Runtime"], Awaitable[None]]
# Wiring that needs the running parts (the database), done before the runtime starts its tasks.
StartupHook = Callable[[FastAPI, "Runtime"], None]


@dataclass(frozen=True)
class ServiceDefinition:
    """What makes one service: its routers, the events it consumes, its periodic jobs."""

    name: str
    title: str
    routers: Sequence[APIRouter]
    subscriptions: Sequence[Subscription] = ()
    jobs: Sequence[BackgroundJob] = field(default_factory=tuple)
    on_start: Sequence[StartupHook] = field(default_factory=tuple)
    # The service's own finished rows to prune, beside every service's outbox and processed events.
    retained: Sequence[Callable[[RetentionSettings], Prunable]] = field(default_factory=tuple)


class Runtime:
    """The running parts of one service process, started and stopped in order."""

    def __init__(self, definition: ServiceDefinition, settings: ServiceSettings) -> None:
        self.definition = definition
        self.settings = settings
        self.db = Database(settings.database_url, pool_size=settings.database_pool_size)
        self.relay = OutboxRelay(
            db=self.db,
            kafka=settings.kafka,
            service=definition.name,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
        )
        self.consumers = [
            IdempotentConsumer(
                sub,
                db=self.db,
                kafka=settings.kafka,
                service=definition.name,
                instance_id=settings.consumer_instance_id(),
            )
            for sub in definition.subscriptions
        ]
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start the relay, the consumers and the periodic jobs as tasks."""
        self._spawn(self.relay.run(), "outbox-relay")
        for consumer in self.consumers:
            self._spawn(consumer.run(), f"consumer-{consumer.group}")
        for job in self.definition.jobs:
            self._spawn(job(self), getattr(job, "__name__", "job"))
        self._spawn(self._prune_old_rows(), "retention")

    async def _prune_old_rows(self) -> None:
        """The retention job: a round now, then one every ``RETENTION_INTERVAL_S``."""
        settings = self.settings.retention
        prunables = [*shared_prunables(settings), *(make(settings) for make in self.definition.retained)]
        job = RetentionJob(self.db, prunables, settings)
        while not self.stopping.is_set():
            try:
                await job.round()
            except (sa.exc.SQLAlchemyError, OSError) as exc:
                log.warning("pruning old rows failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            await wait_or_stop(self.stopping, settings.interval_s)

    def _spawn(self, coroutine: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(coroutine)
        task.set_name(f"{self.definition.name}:{name}")
        task.add_done_callback(self._on_task_done)
        self._tasks.append(task)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None and not self.stopping.is_set():
            log.error("background task died", exc_info=task.exception(), extra={"task": task.get_name()})

    async def stop(self, *, timeout_s: float = 20.0) -> None:
        """Drain: consumers finish the message in hand and commit, the relay its batch; then close."""
        self.stopping.set()
        for consumer in self.consumers:
            consumer.stop()
        self.relay.stop()
        _, pending = await asyncio.wait(self._tasks, timeout=timeout_s) if self._tasks else (set(), set())
        for task in pending:
            log.warning("task did not stop in time; cancelling", extra={"task": task.get_name()})
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        await self.db.dispose()

    async def readiness(self) -> dict[str, Any]:
        """Database, broker and consumers, each with its state."""
        checks: dict[str, Any] = {}
        try:
            await asyncio.wait_for(self.db.ping(), 2.0)
            checks["database"] = {"ok": True}
        except (sa.exc.SQLAlchemyError, OSError, TimeoutError) as exc:
            checks["database"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        broker_ok = await broker_reachable(self.relay.producer)
        checks["broker"] = {"ok": broker_ok} if broker_ok else {"ok": False, "error": self.relay.last_error}
        relay_alive = bool(self._tasks) and not self._tasks[0].done()
        checks["outbox_relay"] = {"ok": relay_alive}
        checks["consumers"] = {
            c.group: {"ok": c.running, **({"error": c.last_error} if c.last_error and not c.running else {})}
            for c in self.consumers
        }
        checks["ready"] = (
            checks["database"]["ok"] and broker_ok and relay_alive and all(c.running for c in self.consumers)
        )
        return checks


def runtime_of(request: Request) -> Runtime:
    """This process's runtime."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: this process's runtime (async: no worker-thread hop)."""
    return runtime_of(request)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: a session for one request; the route commits explicitly."""
    async with runtime_of(request).db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

health = APIRouter(tags=["operations"])


@health.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health.get("/readyz", summary="Database and broker reachable, consumers running")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.readiness()
    return JSONResponse(checks, status_code=200 if checks["ready"] else 503)


@health.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestContext:
    """ASGI middleware: correlation id in and out, request metrics by route template."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(CORRELATION_HEADER.lower().encode())
        correlation = incoming.decode("latin-1")[:128] if incoming else str(uuid4())
        token = bind_correlation_id(correlation)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (CORRELATION_HEADER.encode(), correlation.encode()),
                ]
            await send(message)

        traceparent = incoming_traceparent(headers)
        with span(scope["method"], kind=SpanKind.SERVER, traceparent=traceparent) as server:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = getattr(scope.get("route"), "path", "unmatched")
                record_status(server, method=scope["method"], route=route, http_status=status)
                self._count(scope, route, status, started)
                reset_correlation_id(token)

    def _count(self, scope: Scope, route: str, status: int, started: float) -> None:
        HTTP_REQUESTS.labels(self.service, scope["method"], route, str(status)).inc()
        HTTP_LATENCY.labels(self.service, scope["method"], route).observe(time.perf_counter() - started)


def token_verifier(auth: AuthSettings) -> TokenVerifier:
    """HS256 with the shared secret, or RS256 with keys from the JWKS URL (SPEC §1, §14.3)."""
    auth.check_jwks()
    if auth.jwks_url:
        keys = JwksKeys(auth.jwks_url, ttl_s=auth.jwks_ttl_s, min_refresh_s=auth.jwks_min_refresh_s)
        return TokenVerifier(jwks=keys, issuer=auth.issuer, audience=auth.audience)
    return TokenVerifier(secret=auth.signing_secret(), issuer=auth.issuer, audience=auth.audience)


def create_service_app(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    """The FastAPI app of a service; its lifespan starts and stops the runtime."""
    configure_logging(service=definition.name, level=settings.log_level, fmt=settings.log_format)
    configure_tracing(service=definition.name, endpoint=settings.otlp_endpoint)
    verifier = token_verifier(settings.auth)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(definition, settings)
        app.state.runtime = runtime
        for hook in definition.on_start:
            hook(app, runtime)
        await runtime.start()
        log.info("service started", extra={"port": settings.port})
        try:
            yield
        finally:
            await runtime.stop()
            shutdown_tracing()
            log.info("service stopped")

    # /docs and /redoc come from install_api_docs: served from the package, they work offline.
    app = FastAPI(title=definition.title, version="1.0.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.token_verifier = verifier
    if settings.rate_limit_writes_per_min:
        app.state.write_limiter = WriteLimiter(settings.rate_limit_writes_per_min)
    install_problem_handlers(app)
    app.include_router(health)
    install_api_docs(app)
    for router in definition.routers:
        app.include_router(router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext, service=definition.name)
    return app
