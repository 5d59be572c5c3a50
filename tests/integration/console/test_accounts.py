"""Account use cases on a real database (SPEC §12): hashes only, event in the same transaction, CLI, demo."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from services.console import accounts, sessions
from services.console.models import Account, OneTimeLink
from services.console.sent_links import erase_published_links
from shared.db import Database, utcnow
from shared.migrations import upgrade
from shared.outbox import OutboxRecord
from tests.conftest import Infra
from tests.support.infra import new_database_url
from vidnova.demo_accounts import ensure_demo_accounts
from vidnova.stack import print_sign_ins

ADMIN = accounts.NewAccount(email="ops@example.org", display_name="Ops", role="admin")
INVITEE = accounts.NewAccount(
    email="Mykola@Example.org", display_name="Mykola", role="region_admin", region="UA-48"
)


@pytest.fixture
async def database(infra: Infra) -> AsyncIterator[tuple[str, Database]]:
    url = await new_database_url(infra.database, infra.tmp_dir, f"console_{os.urandom(4).hex()}")
    await asyncio.to_thread(upgrade, "console", url)
    db = Database(url)
    yield url, db
    await db.dispose()


async def test_invitation_stores_only_the_link_hash_and_stages_its_event_in_the_same_transaction(
    database: tuple[str, Database],
) -> None:
    _, db = database
    async with db.session() as session, session.begin():
        admin = await accounts.create_account(session=session, new=ADMIN, password="brisk-otter-4217")
        invited = await accounts.invite(
            session=session,
            new=INVITEE,
            admin=admin,
            public_url="https://console.example",
            client_address="10.0.0.1",
        )
    async with db.session() as session:
        link = (await session.exec(select(OneTimeLink).where(OneTimeLink.account_id == invited.id))).one()
        outbox = (await session.exec(select(OutboxRecord))).all()
        stored = await session.get(Account, invited.id)
    assert stored is not None
    assert stored.email == "mykola@example.org"  # unique without case
    assert stored.password_hash is None
    assert [row.event_type for row in outbox] == ["vidnova.account.invited.v1"]
    token = outbox[0].payload.split("set-password?token=")[1].split('"')[0]
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in link.token_hash
    assert link.expires_at - link.created_at == timedelta(hours=72)

    async with db.session() as session, session.begin():
        await accounts.set_password_by_link(
            session=session, token=token, password="river-stone-2026", client_address=None
        )
    async with db.session() as session:
        account = await accounts.account_by_email(session=session, email="MYKOLA@example.org")
        assert account is not None
        assert account.password_hash is not None
        assert account.password_hash.startswith("$argon2id$")
        with pytest.raises(accounts.LinkInvalid):  # single use
            await accounts.account_for_link(session=session, token=token)


async def test_an_expired_link_is_refused(database: tuple[str, Database]) -> None:
    _, db = database
    async with db.session() as session, session.begin():
        account = await accounts.create_account(session=session, new=INVITEE)
        url = await accounts.issue_link(
            session=session, account=account, purpose="reset", public_url="http://x", publish=False
        )
    token = url.split("token=")[1]
    async with db.session() as session:
        with pytest.raises(accounts.LinkInvalid):
            await accounts.account_for_link(
                session=session, token=token, now=utcnow() + timedelta(hours=72, seconds=1)
            )


async def test_a_second_account_with_the_same_email_in_another_case_is_refused(
    database: tuple[str, Database],
) -> None:
    _, db = database
    async with db.session() as session, session.begin():
        await accounts.create_account(session=session, new=INVITEE)
    with pytest.raises(accounts.AccountExists):
        async with db.session() as session, session.begin():
            await accounts.create_account(
                session=session,
                new=accounts.NewAccount(email="MYKOLA@EXAMPLE.ORG", display_name="x", role="coordinator"),
            )


async def test_deactivation_ends_every_session_of_the_account(database: tuple[str, Database]) -> None:
    _, db = database
    async with db.session() as session, session.begin():
        account = await accounts.create_account(session=session, new=INVITEE, password="river-stone-2026")
        raw_id = await sessions.start_session(
            session=session, account=account, stage="full", client_address=None
        )
    async with db.session() as session, session.begin():
        await accounts.deactivate(session=session, account_id=account.id, actor_id=None, client_address=None)
    async with db.session() as session, session.begin():
        found = await sessions.find_session(
            session=session, raw_id=raw_id, idle=timedelta(hours=8), absolute=timedelta(hours=24)
        )
    assert found is None


def _vidnova(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONSOLE_DATABASE_URL": url, "CONSOLE_PUBLIC_URL": "https://console.example"}
    return subprocess.run(
        [sys.executable, "-m", "vidnova.cli", "account", *args],
        input=stdin, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_account_cli_creates_lists_and_deactivates(database: tuple[str, Database]) -> None:
    url, db = database
    created = await asyncio.to_thread(
        _vidnova, url, "create", "--email", "Desk@JICA.example", "--role", "donor", "--donor-id", "jica",
        "--name", "JICA desk", "--password-stdin", stdin="river-stone-2026\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    linked = await asyncio.to_thread(
        _vidnova, url, "create", "--email", "c@example.org", "--role", "coordinator"
    )
    assert linked.returncode == 0, linked.stderr
    assert "https://console.example/set-password?token=" in linked.stdout
    refused = await asyncio.to_thread(
        _vidnova,
        url,
        "create",
        "--email",
        "r@example.org",
        "--role",
        "region_admin",  # no --region
    )
    assert refused.returncode == 2
    weak = await asyncio.to_thread(
        _vidnova,
        url,
        "create",
        "--email",
        "w@example.org",
        "--role",
        "coordinator",
        "--password-stdin",
        stdin="short\n",
    )
    assert weak.returncode == 2
    listed = await asyncio.to_thread(_vidnova, url, "list")
    assert "desk@jica.example\tdonor\tjica\tactive" in listed.stdout
    deactivated = await asyncio.to_thread(_vidnova, url, "deactivate", "DESK@jica.example")
    assert deactivated.returncode == 0, deactivated.stderr
    async with db.session() as session:
        account = await accounts.account_by_email(session=session, email="desk@jica.example")
    assert account is not None
    assert not account.active
    assert account.password_hash is not None
    assert accounts.verify_password(account.password_hash, "river-stone-2026")


async def test_demo_accounts_are_one_per_role_and_print_the_same_sign_ins_every_run(
    database: tuple[str, Database], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, db = database
    first = await ensure_demo_accounts(state_dir=tmp_path, database_url=url)
    again = await ensure_demo_accounts(state_dir=tmp_path, database_url=url)
    assert first == again
    assert sorted(s.role for s in first) == ["admin", "coordinator", "donor", "region_admin"]
    async with db.session() as session:
        for sign_in in first:
            account = await accounts.account_by_email(session=session, email=sign_in.email)
            assert account is not None
            assert account.password_hash is not None
            assert accounts.verify_password(account.password_hash, sign_in.password)
            assert account.totp_enabled == (sign_in.role == "admin")
    print_sign_ins(first)
    printed = capsys.readouterr().out
    assert all(s.email in printed and s.password in printed for s in first)
    assert "otpauth://totp/" in printed


async def test_a_link_leaves_the_outbox_once_published_and_stays_until_then(
    database: tuple[str, Database],
) -> None:
    _, db = database
    async with db.session() as session, session.begin():
        admin = await accounts.create_account(session=session, new=ADMIN, password="brisk-otter-4217")
        await accounts.invite(
            session=session, new=INVITEE, admin=admin, public_url="http://x", client_address=None
        )
    async with db.session() as session, session.begin():
        assert await erase_published_links(session=session) == 0  # not yet published: kept for the relay
    async with db.session() as session, session.begin():
        row = (await session.exec(select(OutboxRecord))).one()
        row.published_at = utcnow()
        session.add(row)
    async with db.session() as session, session.begin():
        assert await erase_published_links(session=session) == 1
    async with db.session() as session:
        assert (await session.exec(select(OutboxRecord))).all() == []
