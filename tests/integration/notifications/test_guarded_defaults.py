"""A deployment's defaults: webhook targets on private networks refused (SSRF), and without SMTP
e-mail written as ``.eml`` files under the state directory, which the service says at start."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.notifications.models import Subscription
from services.notifications.webhooks import SecretBox
from tests.conftest import Infra
from tests.factories import request_submitted
from tests.integration.notifications.harness import Harness, notifications_stack, start_harness, stop_harness
from tests.support.polling import eventually

MASTER_SECRET = "master-signing-secret-for-tests-0123456789"


@pytest.fixture(scope="module")
async def guarded(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    directory = tmp_path_factory.mktemp("guarded")
    stack = await notifications_stack(
        infra,
        directory,
        WEBHOOK_ALLOW_PRIVATE="0",
        WEBHOOK_SIGNING_SECRET=MASTER_SECRET,
        DELIVERY_POLL_INTERVAL_S="0.5",
    )
    running = await start_harness(stack)
    yield running
    await stop_harness(running)


@pytest.mark.parametrize(
    "target",
    [
        "http://localhost:8080/hook",
        "http://127.0.0.1:9000/hook",
        "http://[::1]/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.20/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://[2002:a9fe:a9fe::1]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[fec0::1]/hook",
        "https://vidnova-hooks.invalid/hook",
    ],
)
async def test_webhook_targets_off_the_public_internet_are_refused(guarded: Harness, target: str) -> None:
    async with guarded.client(f"ssrf-{uuid.uuid4().hex[:6]}", "coordinator") as client:
        response = await client.post("/v1/subscriptions", json={"channel": "webhook", "target": target})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["body.target"]
        assert (await client.get("/v1/subscriptions")).json()["items"] == []


async def test_a_public_webhook_target_is_accepted_and_its_secret_stored_encrypted(guarded: Harness) -> None:
    async with guarded.client(f"public-{uuid.uuid4().hex[:6]}", "coordinator") as client:
        response = await client.post(
            "/v1/subscriptions", json={"channel": "webhook", "target": "https://93.184.215.14/hooks/vidnova"}
        )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_")
    async with guarded.db.session() as session:
        stored = await session.get(Subscription, uuid.UUID(created["id"]))
    assert stored is not None
    assert stored.secret is not None
    assert created["secret"] not in stored.secret
    assert SecretBox(MASTER_SECRET).open(stored.secret) == created["secret"]


async def test_a_webhook_port_other_than_80_or_443_is_refused(guarded: Harness) -> None:
    async with guarded.client(f"port-{uuid.uuid4().hex[:6]}", "coordinator") as client:
        body = {"channel": "webhook", "target": "https://93.184.215.14:22/hooks"}
        response = await client.post("/v1/subscriptions", json=body)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "body.target"
    assert "WEBHOOK_ALLOWED_PORTS" in error["message"]


async def test_without_smtp_mail_is_written_as_eml_files(guarded: Harness) -> None:
    address = f"files-{uuid.uuid4().hex[:8]}@example.org"
    async with guarded.client(f"coord-{uuid.uuid4().hex[:6]}", "coordinator") as client:
        body = {"channel": "email", "target": address, "event_types": ["request.submitted"]}
        assert (await client.post("/v1/subscriptions", json=body)).status_code == 201
    [event] = await guarded.publish(request_submitted(ref="UA63-2026-000321"))
    mail_dir = guarded.stack.log_dir / "mail"

    async def written() -> list[Path]:
        return sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []

    [path] = await eventually(written, timeout_s=60, what=".eml file")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == address
    assert message["Subject"].strip().startswith("Critical request UA63-2026-000321")  # folded header
    assert message["X-Vidnova-Event-Id"] == str(event.id)
    log = guarded.stack.log_tail("notifications", lines=200)
    assert "SMTP_HOST is not set: e-mail is written as .eml files instead of sent" in log
    assert str(mail_dir.resolve()) in log
