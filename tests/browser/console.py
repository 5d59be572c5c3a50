"""A running console with the services it needs, a real SMTP server, and what tests do to them."""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
from aiokafka import AIOKafkaProducer
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page
from sqlmodel import select

from services.console import accounts
from services.console.models import Account, ConsoleSession
from shared.db import Database
from shared.events.envelope import new_event
from shared.events.payloads import Payload
from shared.events.registry import event_type_of
from shared.kafka import make_producer
from shared.settings import ServiceName
from tests.integration.notifications.harness import SMTP_PASSWORD, SMTP_USER, Mailbox
from tests.support.infra import BrokerChoice, DatabaseChoice
from tests.support.stack import ServiceStack, make_stack

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LINK = re.compile(r"https?://\S+/set-password\?token=[A-Za-z0-9_\-]+")
AXE = Axe()


@dataclass
class Console:
    """The console and the services under test, with a producer and the console's database."""

    stack: ServiceStack
    mailbox: Mailbox
    producer: AIOKafkaProducer
    db: Database

    @property
    def url(self) -> str:
        return self.stack.url("console")

    async def create_account(
        self,
        email: str,
        *,
        role: accounts.domain.Role = "coordinator",
        password: str = "brisk-otter-4217",
        name: str = "Test Person",
        totp_secret: str | None = None,
        **scope: Any,
    ) -> Account:
        """An account that can sign in at once (what `vidnova account create --password-stdin` makes)."""
        new = accounts.NewAccount(email=email, display_name=name, role=role, **scope)
        async with self.db.session() as session, session.begin():
            account = await accounts.create_account(session=session, new=new, password=password)
            if totp_secret:
                account.totp_secret, account.totp_enabled = totp_secret, True
        return account

    async def age_sessions(self, email: str, *, by: timedelta) -> None:
        """Move an account's sessions into the past, as if time had passed since sign-in."""
        async with self.db.session() as session, session.begin():
            account = await accounts.account_by_email(session=session, email=email)
            assert account is not None
            rows = await session.exec(select(ConsoleSession).where(ConsoleSession.account_id == account.id))
            for row in rows:
                row.started_at -= by
                row.last_seen_at -= by
                session.add(row)

    async def publish(self, payload: Payload) -> None:
        """Put an event on its topic, as the service that owns it would."""
        event = new_event(payload, source="test")
        topic = self.stack.kafka_settings().topic(event_type_of(payload).stream)
        await self.producer.send_and_wait(topic, event.encode(), key=event.key)

    async def link_mailed_to(self, email: str, *, timeout_s: float = 60.0) -> str:
        """The one-time link in the newest e-mail to this address, waiting for it to arrive."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for mail in reversed(self.mailbox.messages(to=email)):
                body = mail.message.get_body(preferencelist=("plain", "html"))
                match = LINK.search(body.get_content() if body is not None else "")
                if match:
                    return match.group(0)
            await asyncio.sleep(0.2)
        raise TimeoutError(f"no e-mail with a link to {email} within {timeout_s}s")


async def start_console(
    broker: BrokerChoice,
    database: DatabaseChoice,
    workdir: Path,
    *,
    names: tuple[ServiceName, ...] = ("notifications", "console"),
    **env: str,
) -> Console:
    """The console and the notifications service (or every service) on this broker, e-mailing to SMTP."""
    mailbox = Mailbox(workdir)
    mailbox.start()
    unused = {
        f"{name.upper()}_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/unused-{name}.db"
        for name in ("requests", "allocation")
        if name not in names
    }
    stack = await make_stack(
        broker=broker,
        database=database,
        tmp_dir=workdir,
        names=names,
        **unused,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(mailbox.port),
        SMTP_STARTTLS="true",
        SMTP_USERNAME=SMTP_USER,
        SMTP_PASSWORD=SMTP_PASSWORD,
        SSL_CERT_FILE=str(mailbox.cert_path),
        DELIVERY_POLL_INTERVAL_S="0.2",
        SSE_POLL_INTERVAL_S="0.2",
        OUTBOX_POLL_INTERVAL_S="0.5",
        VIDNOVA_ENV="development",
        # Streams end when the token the console signed expires: 10 s makes the browser reconnect often.
        CONSOLE_SERVICE_TOKEN_TTL_S="10",
        **env,
    )
    producer = make_producer(stack.kafka_settings())
    await producer.start()
    return Console(
        stack=stack, mailbox=mailbox, producer=producer, db=Database(stack.database_url("console"))
    )


async def stop_console(console: Console) -> None:
    console.stack.stop()
    await console.producer.stop()
    await console.db.dispose()
    console.mailbox.stop()


async def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it is now (SPEC §13), and nothing
    on it is wider than the window (on a 360-px phone the page itself never scrolls sideways; wide tables
    scroll inside their own wrapper)."""
    results = await AXE.run(page)
    severe = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not severe, results.generate_report()
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} is {overflow} px wider than the {page.viewport_size} window"


def current_code(secret: str) -> str:
    return str(pyotp.TOTP(secret).now())


async def open_in_english(page: Page, path: str = "/sign-in") -> None:
    """Open a page and switch it to English (the labels the tests look for, SPEC §13)."""
    await page.goto(path)
    if await page.locator("html").get_attribute("lang") != "en":
        await page.get_by_role("button", name="English").click()
        await page.wait_for_url(f"**{path.split('?')[0]}*")


async def sign_in(page: Page, email: str, password: str, *, totp_secret: str | None = None) -> None:
    """Fill the English sign-in form (and the code step when the account has a second factor)."""
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    if totp_secret is not None:
        await page.get_by_label("Code", exact=True).fill(current_code(totp_secret))
        await page.get_by_role("button", name="Verify").click()
