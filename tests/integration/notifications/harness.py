"""Real receivers for the notifications service: an SMTP server (aiosmtpd, STARTTLS + AUTH) and a
webhook HTTP server (uvicorn) that verifies signatures — both in this process — plus helpers to
publish events onto the broker and read what the service recorded."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import uvicorn
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlmodel import col, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.notifications.models import Delivery, DeliveryAttempt
from shared.auth import Role, mint_token
from shared.db import Database
from shared.events.envelope import CloudEvent, new_event
from shared.events.payloads import Payload
from shared.events.registry import event_type_of
from shared.kafka import make_producer
from shared.outbox import OutboxRecord
from shared.settings import KafkaSettings
from tests.conftest import Infra
from tests.support.stack import ServiceStack, make_stack
from vidnova.broker import free_port

SMTP_USER, SMTP_PASSWORD = "vidnova", "smtp-password-for-tests"
REFUSED_PREFIX = "refused-"  # the mailbox answers 550 (permanent) for these addresses


# --- SMTP ---------------------------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost; the service trusts it through SSL_CERT_FILE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None

    @property
    def delivery_id(self) -> str:
        return str(self.message["X-Vidnova-Delivery"])


class Mailbox:
    """aiosmtpd in its own thread: requires STARTTLS and AUTH, keeps every message it accepts."""

    def __init__(self, directory: Path) -> None:
        cert, key = self_signed_certificate(directory)
        self.cert_path = cert
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.port = free_port()
        self._lock = threading.Lock()
        self._messages: list[ReceivedMail] = []
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            authenticator=self._authenticate,
        )

    def _authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        return AuthResult(success=ok, auth_data=auth_data)

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        """Refuse mailboxes whose name starts with ``refused-`` for good (550); accept the others."""
        if address.startswith(REFUSED_PREFIX):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        with self._lock:
            self._messages.append(
                ReceivedMail(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=message,
                    tls=session.ssl is not None,
                    login=login,
                )
            )
        return "250 Message accepted for delivery"

    def messages(self, *, to: str | None = None) -> list[ReceivedMail]:
        with self._lock:
            return [m for m in self._messages if to is None or to in m.rcpt_tos]

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


# --- webhooks -----------------------------------------------------------------------------------


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """A receiver's check, with the Standard Webhooks reference library (5-minute tolerance)."""
    try:
        Webhook(secret).verify(body, dict(headers), json_parse=False)
    except WebhookVerificationError:
        return False
    return True


@dataclass
class WebhookCall:
    path: str
    headers: httpx.Headers  # case-insensitive, as in any web framework
    body: bytes
    status: int
    received_at: float

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Endpoint:
    """How one path answers: ``ok``; ``flaky`` (500, then never in time); ``hold`` (until released)."""

    behaviour: str = "ok"
    secret: str | None = None
    calls: int = 0
    holding: int = 0


@dataclass
class WebhookReceiver:
    """A real HTTP server on a free loopback port; verifies each request's signature before 2xx."""

    port: int = field(default_factory=free_port)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    calls: list[WebhookCall] = field(default_factory=list)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def endpoint(self, path: str, behaviour: str = "ok") -> str:
        self.endpoints[path] = Endpoint(behaviour=behaviour)
        return self.url(path)

    def calls_to(self, path: str) -> list[WebhookCall]:
        return [c for c in self.calls if c.path == path]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self._answer(request)
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        endpoint = self.endpoints.get(path, Endpoint(behaviour="missing"))
        endpoint.calls += 1
        if endpoint.behaviour == "missing":
            status = 404
        elif endpoint.secret is not None and not verify_signature(endpoint.secret, request.headers, body):
            status = 401
        elif endpoint.behaviour == "hold" or (endpoint.behaviour == "flaky" and endpoint.calls > 1):
            endpoint.holding += 1
            try:
                await asyncio.wait_for(self.released.wait(), 60)
            except TimeoutError:
                pass
            finally:
                endpoint.holding -= 1
            status = 200
        elif endpoint.behaviour == "flaky":
            status = 500
        else:
            status = 200
        self.calls.append(WebhookCall(path, httpx.Headers(request.headers), body, status, time.time()))
        return JSONResponse({"status": status}, status_code=status)

    async def start(self) -> None:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.released.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


# --- the service under test -----------------------------------------------------------------------


@dataclass
class Harness:
    """A notifications-only stack with its receivers, a producer onto its topics, and its database."""

    stack: ServiceStack
    producer: AIOKafkaProducer
    db: Database
    mailbox: Mailbox | None = None
    receiver: WebhookReceiver | None = None

    @property
    def kafka(self) -> KafkaSettings:
        return self.stack.kafka_settings()

    def client(self, sub: str, role: Role, **scope: str) -> httpx.AsyncClient:
        """An HTTP client for any identity (tokens signed with the stack's secret)."""
        token = mint_token(secret=self.stack.secret, sub=sub, role=role, **scope)
        return httpx.AsyncClient(
            base_url=self.stack.url("notifications"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30.0),
        )

    def token(self, sub: str, role: Role, **scope: str) -> str:
        return mint_token(secret=self.stack.secret, sub=sub, role=role, **scope)

    async def publish(self, *payloads: Payload) -> list[CloudEvent]:
        """Wrap each payload in an envelope and put it on its topic, keyed as the services do."""
        events = [new_event(payload, source="test") for payload in payloads]
        await self.send(*events)
        return events

    async def send(self, *events: CloudEvent) -> None:
        """Put already-built events on the broker (the same event twice is a redelivery)."""
        for event in events:
            stream = event_type_of(event.payload()).stream
            await self.producer.send_and_wait(self.kafka.topic(stream), event.encode(), key=event.key)

    async def outbox(self, event_type: str) -> list[dict[str, Any]]:
        """Events this service staged (and whether the relay has published them), oldest first."""
        statement = (
            select(OutboxRecord).where(OutboxRecord.event_type == event_type).order_by(col(OutboxRecord.id))
        )
        async with self.db.session() as session:
            rows = (await session.exec(statement)).all()
        return [{**json.loads(row.payload), "published": row.published_at is not None} for row in rows]

    async def deliveries_of(self, event: CloudEvent) -> list[Delivery]:
        """Delivery rows of one source event, straight from the database (for exact counting)."""
        async with self.db.session() as session:
            rows = await session.exec(select(Delivery).where(Delivery.source_event_id == event.id))
            return list(rows.all())

    async def attempts_of(self, delivery_id: UUID) -> list[DeliveryAttempt]:
        async with self.db.session() as session:
            rows = await session.exec(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id == delivery_id)
                .order_by(col(DeliveryAttempt.number))
            )
            return list(rows.all())


async def notifications_stack(infra: Infra, directory: Path, **env: str) -> ServiceStack:
    """The notifications service alone (other services' databases are named but never used)."""
    return await make_stack(
        broker=infra.broker,
        database=infra.database,
        tmp_dir=directory,
        names=("notifications",),
        REQUESTS_DATABASE_URL=f"sqlite+aiosqlite:///{directory}/unused-requests.db",
        ALLOCATION_DATABASE_URL=f"sqlite+aiosqlite:///{directory}/unused-allocation.db",
        **env,
    )


async def start_harness(stack: ServiceStack, **receivers: Any) -> Harness:
    producer = make_producer(stack.kafka_settings())
    await producer.start()
    return Harness(
        stack=stack, producer=producer, db=Database(stack.database_url("notifications")), **receivers
    )


async def stop_harness(harness: Harness) -> None:
    harness.stack.stop()
    await harness.producer.stop()
    await harness.db.dispose()
