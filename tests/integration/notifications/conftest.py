"""One notifications-only stack for this package, wired to real SMTP and webhook receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import Infra
from tests.integration.notifications.harness import (
    SMTP_PASSWORD,
    SMTP_USER,
    Harness,
    Mailbox,
    WebhookReceiver,
    notifications_stack,
    start_harness,
    stop_harness,
)

# Short enough that retries and timeouts finish within a test; the defaults are minutes.
DELIVERY_TUNING = {
    "DELIVERY_ATTEMPT_TIMEOUT_S": "4",
    "DELIVERY_BACKOFF_BASE_S": "0.3",
    "DELIVERY_MAX_ATTEMPTS": "3",
    "DELIVERY_POLL_INTERVAL_S": "0.5",
}


def smtp_env(mailbox: Mailbox) -> dict[str, str]:
    """SMTP with STARTTLS and AUTH against the in-process server, trusting its certificate."""
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "SMTP_STARTTLS": "true",
        "SMTP_USERNAME": SMTP_USER,
        "SMTP_PASSWORD": SMTP_PASSWORD,
        "SMTP_FROM": "Vidnova <noreply@vidnova.test>",
        "SSL_CERT_FILE": str(mailbox.cert_path),
    }


@pytest.fixture(scope="package")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("notifications")


@pytest.fixture(scope="package")
def mailbox(workdir: Path) -> Iterator[Mailbox]:
    server = Mailbox(workdir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="package")
async def harness(
    infra: Infra, workdir: Path, mailbox: Mailbox, receiver: WebhookReceiver
) -> AsyncIterator[Harness]:
    stack = await notifications_stack(infra, workdir, **smtp_env(mailbox), **DELIVERY_TUNING)
    running = await start_harness(stack, mailbox=mailbox, receiver=receiver)
    yield running
    await stop_harness(running)
