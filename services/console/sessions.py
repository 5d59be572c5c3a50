"""Sign-in and session use cases: password step, second factor, lockout, session rows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.console import domain
from services.console.accounts import PASSWORDS, account_by_email, link_hash, record, verify_password
from services.console.models import Account, ConsoleSession, SignInFailure
from shared.db import utcnow

# Verified when the email is unknown, so that the answer takes as long as for a real account.
_DUMMY_HASH = PASSWORDS.hash(secrets.token_urlsafe(16))
SessionStage = domain.SessionStage
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class OpenSession:
    """A live session and its account."""

    row: ConsoleSession
    account: Account


async def _locked_until(*, session: AsyncSession, account: Account, now: datetime) -> datetime | None:
    window_start = now - domain.LOCKOUT_WINDOW - domain.LOCKOUT_DURATION
    statement = select(SignInFailure.at).where(
        SignInFailure.account_id == account.id, col(SignInFailure.at) > window_start
    )
    return domain.locked_until((await session.exec(statement)).all(), now=now)


async def _fail(
    *, session: AsyncSession, account: Account, now: datetime, client_address: str | None
) -> None:
    """Count a failure; the fifth within the window locks the account and is audited as a lockout."""
    was_locked = await _locked_until(session=session, account=account, now=now) is not None
    session.add(SignInFailure(account_id=account.id, at=now))
    await session.flush()
    record(session, "failure", account_id=account.id, client_address=client_address)
    if not was_locked and await _locked_until(session=session, account=account, now=now) is not None:
        record(session, "lockout", account_id=account.id, client_address=client_address)


async def check_password_step(
    *,
    session: AsyncSession,
    email: str,
    password: str,
    client_address: str | None,
    now: datetime | None = None,
) -> Account | None:
    """The account when the password is right and it is active and not locked; None says nothing more."""
    now = now or utcnow()
    account = await account_by_email(session=session, email=email)
    if account is None or account.password_hash is None:
        verify_password(_DUMMY_HASH, password)
        record(session, "failure", account_id=None, client_address=client_address, detail="unknown account")
        return None
    matches = verify_password(account.password_hash, password)
    if await _locked_until(session=session, account=account, now=now) is not None:
        record(session, "failure", account_id=account.id, client_address=client_address, detail="locked")
        return None
    if not matches or not account.active:
        await _fail(session=session, account=account, now=now, client_address=client_address)
        return None
    return account


async def check_totp_step(
    *,
    session: AsyncSession,
    account: Account,
    code: str,
    client_address: str | None,
    now: datetime | None = None,
) -> bool:
    """Whether the TOTP code is right (a wrong one counts toward the lockout)."""
    now = now or utcnow()
    locked = await _locked_until(session=session, account=account, now=now) is not None
    if (
        not locked
        and account.totp_secret
        and pyotp.TOTP(account.totp_secret).verify(code.strip(), valid_window=1)
    ):
        return True
    await _fail(session=session, account=account, now=now, client_address=client_address)
    return False


def new_totp_secret() -> str:
    """A fresh base32 secret for enrolment."""
    return pyotp.random_base32()


def totp_uri(account: Account, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name="Vidnova")


async def enable_totp(*, session: AsyncSession, account: Account, secret: str, code: str) -> bool:
    """Turn TOTP on when the code proves the app holds this secret."""
    if not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        return False
    account.totp_secret, account.totp_enabled = secret, True
    session.add(account)
    return True


async def start_session(
    *,
    session: AsyncSession,
    account: Account,
    stage: SessionStage,
    client_address: str | None,
    access_token: str | None = None,
    access_token_expires_at: datetime | None = None,
) -> str:
    """A new session row; returns the random id for the cookie (only its hash is stored)."""
    raw_id = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id_hash=link_hash(raw_id),
            account_id=account.id,
            stage=stage,
            csrf_token=secrets.token_urlsafe(32),
            client_address=client_address,
            access_token=access_token,
            access_token_expires_at=access_token_expires_at,
        )
    )
    if stage == "full":
        record(session, "sign_in", account_id=account.id, client_address=client_address)
    return raw_id


def complete_session(session: AsyncSession, open_session: OpenSession, *, client_address: str | None) -> None:
    """Every factor passed: the session may open pages now."""
    open_session.row.stage = "full"
    session.add(open_session.row)
    record(session, "sign_in", account_id=open_session.account.id, client_address=client_address)


async def find_session(
    *, session: AsyncSession, raw_id: str, idle: timedelta, absolute: timedelta, now: datetime | None = None
) -> OpenSession | None:
    """The live session with this id, touched; an expired one is ended and gives None."""
    now = now or utcnow()
    row = await session.get(ConsoleSession, link_hash(raw_id))
    if row is None or row.ended_at is not None:
        return None
    account = await session.get(Account, row.account_id)
    times = domain.SessionTimes(started_at=row.started_at, last_seen_at=row.last_seen_at)
    token_expired = row.access_token_expires_at is not None and row.access_token_expires_at <= now
    if (
        account is None
        or not account.active
        or token_expired  # OpenID Connect: signing in at the provider again gives a new token
        or domain.session_expired(times, now=now, idle=idle, absolute=absolute)
    ):
        row.ended_at = now
        session.add(row)
        return None
    if now - row.last_seen_at > TOUCH_EVERY:  # not a write on every page: the idle timeout is hours
        row.last_seen_at = now
        session.add(row)
    return OpenSession(row=row, account=account)


async def end_session(*, session: AsyncSession, raw_id: str, client_address: str | None) -> None:
    """Sign out: the row ends, and the audit says so."""
    row = await session.get(ConsoleSession, link_hash(raw_id))
    if row is None or row.ended_at is not None:
        return
    row.ended_at = utcnow()
    session.add(row)
    if row.stage == "full":
        record(session, "sign_out", account_id=row.account_id, client_address=client_address)
