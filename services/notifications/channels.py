"""Senders for the e-mail and webhook channels; each attempt either returns or raises DeliveryError."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import aiosmtplib
import httpx

from services.notifications import webhooks
from services.notifications.attachments import Attachment, AttachmentError, attachments_for
from services.notifications.settings import NotificationsSettings

log = logging.getLogger(__name__)
USER_AGENT = "Vidnova-Webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024
RENDER_TIMEOUT_S = 120


class DeliveryError(Exception):
    """An attempt that did not deliver; ``retryable`` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool, response_status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.response_status = response_status


@dataclass(frozen=True)
class Job:
    """A claimed delivery, detached from the database session."""

    id: UUID
    number: int  # this attempt's number, 1-based
    claim_token: UUID  # proves the lease when the outcome is recorded
    channel: str
    target: str
    locale: str
    title: str
    body: str
    data: dict[str, Any] | None
    source_event_id: UUID
    source_event_type: str
    subject_id: str
    signing_key: str | None  # webhooks only
    attachments: tuple[Attachment, ...] = ()  # e-mails only, rendered before the attempt (with_attachments)


class Channel(Protocol):
    """Sends one job; returns the receiver's status code where there is one."""

    async def send(self, job: Job) -> int | None: ...


def email_message(job: Job, *, sender: str) -> EmailMessage:
    """A plain-text UTF-8 message, with the job's files if any (multipart/mixed then).

    Its Message-ID is stable across retries so receivers can dedupe.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = job.target
    message["Subject"] = job.title
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{job.id}@vidnova.notifications>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Vidnova-Delivery"] = str(job.id)
    message["X-Vidnova-Event-Id"] = str(job.source_event_id)
    message.set_content(job.body)
    for attachment in job.attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    # Last: set_content replaces Content-* headers and add_attachment moves them to the text part.
    message["Content-Language"] = job.locale
    return message


async def with_attachments(job: Job) -> Job:
    """The job with the files its e-mail carries, rendered now (each attempt renders them again).

    Local work, bounded on its own: the attempt's timeout is for the receiver, and a statement's
    first PDF in a fresh process (loading WeasyPrint and the fonts) takes a few seconds.
    """
    if job.channel != "email":
        return job
    try:
        files = await asyncio.wait_for(
            attachments_for(job.source_event_type, job.data, job.locale), RENDER_TIMEOUT_S
        )
    except AttachmentError as exc:
        raise DeliveryError(str(exc), retryable=False) from exc
    except TimeoutError as exc:
        raise DeliveryError(
            f"rendering the attachment took over {RENDER_TIMEOUT_S} s", retryable=True
        ) from exc
    return replace(job, attachments=tuple(files))


class SmtpMailer:
    """E-mail over SMTP with aiosmtplib: STARTTLS (or implicit TLS on 465) and optional login."""

    def __init__(self, settings: NotificationsSettings, *, timeout_s: float) -> None:
        self.settings = settings
        self.timeout_s = timeout_s

    async def send(self, job: Job) -> int | None:
        s = self.settings
        implicit_tls = s.smtp_port == 465
        try:
            await aiosmtplib.send(
                email_message(job, sender=s.smtp_from),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=implicit_tls,
                start_tls=s.smtp_starttls and not implicit_tls,
                timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise DeliveryError(f"recipient refused: {exc}", retryable=all(c < 500 for c in codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.code}: {exc.message}", retryable=exc.code < 500) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        return None


class FileMailer:
    """The embedded default without SMTP: each message becomes an ``.eml`` file in a folder."""

    def __init__(self, directory: Path, *, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    async def send(self, job: Job) -> int | None:
        message = email_message(job, sender=self.sender)
        try:
            await asyncio.to_thread(self._write, job.id, message.as_bytes())
        except OSError as exc:
            raise DeliveryError(f"cannot write the message: {exc}", retryable=True) from exc
        return None

    def _write(self, delivery_id: UUID, content: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{delivery_id}.eml"
        partial = final.with_suffix(".eml.tmp")
        partial.write_bytes(content)
        os.replace(partial, final)  # readers never see half a message


def webhook_document(job: Job) -> dict[str, Any]:
    """What a webhook receiver gets: a CloudEvent whose data is the rendered notice and the event's data."""
    return {
        "specversion": "1.0",
        "id": str(job.id),
        "source": "vidnova/notifications",
        "type": job.source_event_type,
        "subject": job.subject_id,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "event_id": str(job.source_event_id),
            "locale": job.locale,
            "title": job.title,
            "text": job.body,
            "data": job.data or {},
        },
    }


async def post_capped(
    client: httpx.AsyncClient, vetted: webhooks.Vetted, *, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    """POST to the vetted address (Host and TLS name stay the URL's host); read at most 64 KiB back."""
    target = vetted.target
    request = client.build_request(
        "POST",
        vetted.pinned_url(),
        content=body,
        headers={**headers, "Host": target.netloc},
        extensions={"sni_hostname": target.host},
    )
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        received = bytearray()
        async for chunk in response.aiter_raw():
            received += chunk[: MAX_RESPONSE_BYTES - len(received)]
            if len(received) >= MAX_RESPONSE_BYTES:
                break  # the rest is never read: closing drops the connection
    finally:
        await response.aclose()
    return response.status_code, bytes(received)


class WebhookSender:
    """Standard Webhooks POSTs to a target vetted at send time, connected to by the vetted address."""

    def __init__(self, client: httpx.AsyncClient, *, policy: webhooks.TargetPolicy) -> None:
        self.client = client
        self.policy = policy

    async def send(self, job: Job) -> int | None:
        if job.signing_key is None:
            raise DeliveryError("the subscription has no signing key", retryable=False)
        try:
            vetted = await self.policy.vet(job.target)
        except webhooks.TargetRefused as exc:
            raise DeliveryError(f"target refused: {exc}", retryable=False) from exc
        body = webhooks.encode_body(webhook_document(job))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **webhooks.signature_headers(job.signing_key, str(job.id), int(time.time()), body),
        }
        try:
            status, _ = await post_capped(self.client, vetted, body=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"timed out: {type(exc).__name__}", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        if 200 <= status < 300:
            return status
        # Timeouts, throttling and server errors may pass; anything else (4xx, redirects) will not.
        retryable = status in (408, 425, 429) or status >= 500
        raise DeliveryError(f"HTTP {status}", retryable=retryable, response_status=status)


@dataclass
class Channels:
    """The sender for each channel the worker delivers."""

    email: Channel
    webhook: Channel

    def for_job(self, job: Job) -> Channel:
        """The sender of a job's channel."""
        return self.email if job.channel == "email" else self.webhook


def build_email_channel(settings: NotificationsSettings, *, timeout_s: float) -> Channel:
    """SMTP when ``SMTP_HOST`` is set; otherwise ``.eml`` files under the state directory (logged)."""
    if settings.smtp_host:
        log.info("e-mail goes over SMTP", extra={"smtp_host": settings.smtp_host, "port": settings.smtp_port})
        return SmtpMailer(settings, timeout_s=timeout_s)
    directory = settings.auth.state_dir / "mail"
    log.info(
        "SMTP_HOST is not set: e-mail is written as .eml files instead of sent",
        extra={"directory": str(directory.resolve())},
    )
    return FileMailer(directory, sender=settings.smtp_from)
