"""Tables of the console: accounts, their sessions, one-time links and the sign-in audit."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from shared.db import UTCDateTime, utcnow


def _time(*, nullable: bool = False) -> sa.Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable)


class Account(SQLModel, table=True):
    """A person who signs in to the console, with the role and scope the services' tokens carry."""

    __tablename__ = "accounts"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    email: str = Field(max_length=320, unique=True)  # stored case-folded: unique regardless of case
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=32)
    region: str | None = Field(default=None, max_length=16)
    donor_id: str | None = Field(default=None, max_length=64)
    locale: str = Field(default="uk", max_length=8)
    active: bool = True
    password_hash: str | None = Field(default=None, max_length=255)
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_enabled: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time())


class ConsoleSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random id, this row only its SHA-256."""

    __tablename__ = "sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    account_id: UUID = Field(foreign_key="accounts.id", index=True)
    # "full" once every factor passed; "totp" waits for the code, "enrol" for an admin's TOTP enrolment.
    stage: str = Field(default="full", max_length=8)
    csrf_token: str = Field(max_length=64)
    started_at: datetime = Field(default_factory=utcnow, sa_column=_time())
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=_time())
    ended_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))
    client_address: str | None = Field(default=None, max_length=64)
    # OpenID Connect mode: the person's access token, which the console forwards to the services (§12).
    access_token: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))
    access_token_expires_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))


class OneTimeLink(SQLModel, table=True):
    """An invitation or password reset: valid 72 h, used once, stored only as a hash."""

    __tablename__ = "one_time_links"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: UUID = Field(foreign_key="accounts.id", index=True)
    purpose: str = Field(max_length=16)  # invitation | reset
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time())
    expires_at: datetime = Field(sa_column=_time())
    used_at: datetime | None = Field(default=None, sa_column=_time(nullable=True))


class SignInFailure(SQLModel, table=True):
    """A wrong password or code for an account: five within 15 minutes lock it."""

    __tablename__ = "sign_in_failures"

    id: int | None = Field(default=None, primary_key=True)
    account_id: UUID = Field(foreign_key="accounts.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_time())


class SignInEvent(SQLModel, table=True):
    """The audit admins read: sign-ins, sign-outs, failures, lockouts, invitations, role changes."""

    __tablename__ = "sign_in_events"
    __table_args__ = (sa.Index("ix_sign_in_events_listing", "at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_time())
    kind: str = Field(max_length=24)
    account_id: UUID | None = Field(default=None, index=True)
    actor_id: UUID | None = None  # the admin who invited or changed a role; None when the person acted
    client_address: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(default=None, max_length=200)
