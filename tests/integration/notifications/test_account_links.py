"""Invitations and resets (SPEC §12): one e-mail to the person, in their language, over real SMTP;
afterwards no table of the notifications database and no log line holds the one-time link."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from services.notifications.account_links import ERASED_BODY
from services.notifications.models import Delivery, Notification
from shared.events.envelope import CloudEvent
from shared.events.payloads import AccountInvited, AccountPasswordReset
from tests.factories import account_link
from tests.integration.notifications.harness import REFUSED_PREFIX, Harness
from tests.integration.notifications.test_delivery import mail_to
from tests.support.polling import eventually


async def finished_delivery(harness: Harness, event: CloudEvent) -> Delivery:
    """The event's one delivery, once the worker has finished with it."""
    [delivery] = await eventually(
        lambda: harness.deliveries_of(event),
        until=lambda rows: len(rows) == 1 and rows[0].status != "pending",
        timeout_s=90,
        what="the account e-mail's delivery to finish",
    )
    return delivery


async def rows_holding(harness: Harness, secret: str) -> list[tuple[str, dict[str, Any]]]:
    """Every row of every table of the service's database in which some value contains ``secret``."""
    async with harness.db.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        found = []
        for name in names:
            for row in (await connection.execute(sa.text(f'SELECT * FROM "{name}"'))).mappings():
                if any(secret in str(value) for value in row.values()):
                    found.append((name, dict(row)))
    return found


def log_text(harness: Harness) -> str:
    return (harness.stack.log_dir / "notifications.log").read_text(encoding="utf-8", errors="replace")


def secret_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


async def test_an_invitation_is_emailed_once_in_ukrainian_and_leaves_no_copy_of_the_link(
    harness: Harness,
) -> None:
    address = f"new-admin-{uuid.uuid4().hex[:8]}@kharkiv.example.org"
    invited = account_link(AccountInvited, email=address, locale="uk")
    [event] = await harness.publish(invited)
    await harness.send(event)  # a redelivery: still one e-mail
    # Same key, same partition: once the reset's mail is in, the duplicate has been consumed.
    reset = account_link(AccountPasswordReset, account_id=invited.account_id, email=address, locale="uk")
    [reset_event] = await harness.publish(reset)

    mails = await mail_to(harness, address, count=2)
    assert [m.message["Subject"] for m in mails] == ["Вас запрошено до Vidnova", "Скидання пароля до Vidnova"]  # noqa: RUF001
    invitation = mails[0].message
    assert invitation["Content-Language"] == "uk"
    assert invited.link in invitation.get_content().splitlines()
    assert invitation.get_content().startswith("Вітаємо, Олена Коваль!")

    for sent in (event, reset_event):
        delivery = await finished_delivery(harness, sent)
        assert (delivery.status, delivery.channel, delivery.target) == ("delivered", "email", address)
        assert delivery.body == ERASED_BODY
    async with harness.db.session() as session:
        inbox = await session.exec(select(Notification).where(Notification.source_event_id == event.id))
        assert inbox.all() == []
    outcomes = [
        e
        for e in await harness.outbox("vidnova.notification.delivered.v1")
        if e["causationid"] == str(event.id)
    ]
    assert [o["data"]["recipient"] for o in outcomes] == [f"account:{invited.account_id}"]
    for link in (invited.link, reset.link):
        assert await rows_holding(harness, secret_of(link)) == []
        assert secret_of(link) not in log_text(harness)


async def test_a_reset_that_finally_fails_is_erased_too(harness: Harness) -> None:
    address = f"{REFUSED_PREFIX}{uuid.uuid4().hex[:8]}@example.org"
    reset = account_link(AccountPasswordReset, email=address, locale="en")
    [event] = await harness.publish(reset)

    delivery = await finished_delivery(harness, event)
    assert delivery.status == "failed"
    assert delivery.body == ERASED_BODY
    assert delivery.title == "Reset your Vidnova password"
    assert await rows_holding(harness, secret_of(reset.link)) == []
    assert secret_of(reset.link) not in log_text(harness)
