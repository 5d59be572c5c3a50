"""Account use cases: create, invite, set a password by link, change role, deactivate, list."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast
from uuid import UUID

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.console import domain
from services.console.events import SOURCE, link_event
from services.console.models import Account, ConsoleSession, OneTimeLink, SignInEvent
from shared.db import utcnow
from shared.outbox import emit

# argon2-cffi's defaults are Argon2id with the RFC 9106 low-memory parameters.
PASSWORDS = PasswordHasher()
LinkPurpose = Literal["invitation", "reset"]


class AccountExists(ValueError):
    """Another account has this email (compared without case)."""


class AccountNotFound(LookupError):
    """No account with this id or email."""


class AccountInactive(PermissionError):
    """The account was deactivated here: the identity provider's word does not bring it back."""


class LinkInvalid(ValueError):
    """The link is unknown, used or expired (one answer for all three)."""


@dataclass(frozen=True)
class NewAccount:
    """What an admin or the CLI gives to create an account."""

    email: str
    display_name: str
    role: domain.Role
    region: str | None = None
    donor_id: str | None = None
    locale: domain.Locale = "uk"


def link_hash(token: str) -> str:
    """Links and session ids are stored only as this SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def record(
    session: AsyncSession,
    kind: str,
    *,
    account_id: UUID | None,
    client_address: str | None,
    actor_id: UUID | None = None,
    detail: str | None = None,
) -> None:
    """Add one row to the sign-in audit in the caller's transaction."""
    session.add(
        SignInEvent(
            kind=kind, account_id=account_id, actor_id=actor_id, client_address=client_address, detail=detail
        )
    )


async def account_by_email(*, session: AsyncSession, email: str) -> Account | None:
    """The account with this email in any case, if any."""
    statement = select(Account).where(Account.email == domain.normalise_email(email))
    return (await session.exec(statement)).first()


async def get_account(*, session: AsyncSession, account_id: UUID) -> Account:
    """The account with this id, or AccountNotFound."""
    account = await session.get(Account, account_id)
    if account is None:
        raise AccountNotFound(str(account_id))
    return account


async def create_account(*, session: AsyncSession, new: NewAccount, password: str | None = None) -> Account:
    """A new active account; with a password it can sign in at once, else it waits for its link."""
    domain.check_scope(new.role, region=new.region, donor_id=new.donor_id)
    email = domain.normalise_email(new.email)
    if await account_by_email(session=session, email=email) is not None:
        raise AccountExists(email)
    account = Account(
        email=email,
        display_name=new.display_name.strip() or email,
        role=new.role,
        region=new.region,
        donor_id=new.donor_id,
        locale=new.locale,
    )
    if password is not None:
        domain.check_password(password, email=email, display_name=account.display_name)
        account.password_hash = PASSWORDS.hash(password)
    session.add(account)
    await session.flush()
    return account


async def issue_link(
    *,
    session: AsyncSession,
    account: Account,
    purpose: LinkPurpose,
    public_url: str,
    publish: bool = True,
    actor: str | None = None,
) -> str:
    """A one-time set-password URL, published for e-mailing in this transaction unless ``publish`` is off."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + domain.LINK_LIFETIME
    session.add(
        OneTimeLink(
            token_hash=link_hash(token),
            account_id=account.id,
            purpose=purpose,
            created_at=now,
            expires_at=expires_at,
        )
    )
    url = f"{public_url.rstrip('/')}/set-password?token={token}"
    if publish:
        payload = link_event(
            purpose=purpose,
            account_id=account.id,
            email=account.email,
            display_name=account.display_name,
            locale="en" if account.locale == "en" else "uk",
            link=url,
            expires_at=expires_at,
        )
        emit(session, payload, source=SOURCE, actor=actor)
    return url


async def invite(
    *, session: AsyncSession, new: NewAccount, admin: Account, public_url: str, client_address: str | None
) -> Account:
    """Create the account and e-mail it a one-time link to set its password (one transaction)."""
    account = await create_account(session=session, new=new)
    await issue_link(
        session=session, account=account, purpose="invitation", public_url=public_url, actor=str(admin.id)
    )
    record(session, "invitation", account_id=account.id, actor_id=admin.id, client_address=client_address)
    return account


async def reset_password(
    *, session: AsyncSession, account_id: UUID, admin: Account, public_url: str, client_address: str | None
) -> Account:
    """E-mail the person a one-time link to choose a new password."""
    account = await get_account(session=session, account_id=account_id)
    await issue_link(
        session=session, account=account, purpose="reset", public_url=public_url, actor=str(admin.id)
    )
    record(session, "password_reset", account_id=account.id, actor_id=admin.id, client_address=client_address)
    return account


async def account_for_link(*, session: AsyncSession, token: str, now: datetime | None = None) -> Account:
    """The account a still-valid link belongs to, or LinkInvalid."""
    link = (await session.exec(select(OneTimeLink).where(OneTimeLink.token_hash == link_hash(token)))).first()
    if link is None or link.used_at is not None or link.expires_at <= (now or utcnow()):
        raise LinkInvalid
    account = await session.get(Account, link.account_id)
    if account is None or not account.active:
        raise LinkInvalid
    return account


async def set_password_by_link(
    *, session: AsyncSession, token: str, password: str, client_address: str | None
) -> Account:
    """Use the link once: check the policy, store the Argon2id hash, spend every open link of the account."""
    account = await account_for_link(session=session, token=token)
    domain.check_password(password, email=account.email, display_name=account.display_name)
    account.password_hash = PASSWORDS.hash(password)
    await session.execute(
        sa.update(OneTimeLink)
        .where(col(OneTimeLink.account_id) == account.id, col(OneTimeLink.used_at).is_(None))
        .values(used_at=utcnow())
    )
    record(session, "password_set", account_id=account.id, client_address=client_address)
    return account


async def change_password(
    *, session: AsyncSession, account: Account, current: str, new: str, client_address: str | None
) -> bool:
    """Replace the password when the current one is right; False when it is not."""
    if account.password_hash is None or not verify_password(account.password_hash, current):
        return False
    domain.check_password(new, email=account.email, display_name=account.display_name)
    account.password_hash = PASSWORDS.hash(new)
    session.add(account)
    record(session, "password_set", account_id=account.id, client_address=client_address)
    return True


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether the password matches its Argon2id hash."""
    try:
        return PASSWORDS.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):  # a mismatch, or a hash this hasher cannot read: "no"
        return False


async def change_role(
    *,
    session: AsyncSession,
    account_id: UUID,
    role: domain.Role,
    region: str | None,
    donor_id: str | None,
    admin: Account,
    client_address: str | None,
) -> Account:
    """A new role and scope; the services see it in the next token the console signs."""
    domain.check_scope(role, region=region, donor_id=donor_id)
    account = await get_account(session=session, account_id=account_id)
    before = f"{account.role}:{account.region or account.donor_id or '-'}"
    account.role, account.region, account.donor_id = role, region, donor_id
    session.add(account)
    record(
        session,
        "role_change",
        account_id=account.id,
        actor_id=admin.id,
        client_address=client_address,
        detail=f"{before} -> {role}:{region or donor_id or '-'}",
    )
    return account


async def deactivate(
    *, session: AsyncSession, account_id: UUID, actor_id: UUID | None, client_address: str | None
) -> Account:
    """The account can no longer sign in and every session of it ends now."""
    account = await get_account(session=session, account_id=account_id)
    account.active = False
    session.add(account)
    await session.execute(
        sa.update(ConsoleSession)
        .where(col(ConsoleSession.account_id) == account.id, col(ConsoleSession.ended_at).is_(None))
        .values(ended_at=utcnow())
    )
    record(session, "deactivation", account_id=account.id, actor_id=actor_id, client_address=client_address)
    return account


async def set_locale(*, session: AsyncSession, account: Account, locale: domain.Locale) -> None:
    """Remember the person's language."""
    account.locale = locale
    session.add(account)


async def list_accounts(*, session: AsyncSession) -> list[Account]:
    """Every account, by email."""
    return list((await session.exec(select(Account).order_by(col(Account.email)))).all())


async def list_sign_in_events(
    *, session: AsyncSession, limit: int = 200
) -> list[tuple[SignInEvent, str | None]]:
    """The newest audit rows with the email of the account each names."""
    statement = (
        select(SignInEvent, Account.email)
        .join(Account, col(Account.id) == col(SignInEvent.account_id), isouter=True)
        .order_by(col(SignInEvent.at).desc(), col(SignInEvent.id).desc())
        .limit(limit)
    )
    return [(event, email) for event, email in (await session.exec(statement)).all()]


async def account_from_identity(
    *,
    session: AsyncSession,
    email: str,
    display_name: str,
    role: str,
    region: str | None,
    donor_id: str | None,
    client_address: str | None,
) -> Account:
    """OpenID Connect: the account of this person, created or brought in line with the provider's claims."""
    if role not in domain.ROLE_LABELS:
        raise domain.ScopeInvalid(domain.N_("Choose a role."))
    chosen = cast(domain.Role, role)
    domain.check_scope(chosen, region=region, donor_id=donor_id)
    account = await account_by_email(session=session, email=email)
    if account is None:
        new = NewAccount(
            email=email, display_name=display_name, role=chosen, region=region, donor_id=donor_id
        )
        return await create_account(session=session, new=new)
    if not account.active:
        raise AccountInactive(account.email)
    if (account.role, account.region, account.donor_id) != (role, region, donor_id):
        before = f"{account.role}:{account.region or account.donor_id or '-'}"
        account.role, account.region, account.donor_id = role, region, donor_id
        record(
            session,
            "role_change",
            account_id=account.id,
            client_address=client_address,
            detail=f"{before} -> {role}:{region or donor_id or '-'} (identity provider)",
        )
    account.display_name = display_name or account.display_name
    session.add(account)
    return account
