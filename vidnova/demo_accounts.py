"""One console account per role for the demo scenario, with passwords generated once per state dir."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import pyotp

from services.console import accounts, domain, sessions
from shared.db import Database

DEMO_ACCOUNTS: tuple[accounts.NewAccount, ...] = (
    accounts.NewAccount(email="coordinator@vidnova.local", display_name="Олена Коваль", role="coordinator"),
    accounts.NewAccount(
        email="kharkiv@vidnova.local", display_name="Андрій Мельник", role="region_admin", region="UA-63"
    ),
    accounts.NewAccount(email="jica@vidnova.local", display_name="JICA desk", role="donor", donor_id="jica"),
    accounts.NewAccount(email="admin@vidnova.local", display_name="Ops admin", role="admin"),
)


@dataclass(frozen=True)
class DemoSignIn:
    """What `vidnova up` prints for one demo account."""

    role: str
    email: str
    password: str
    totp_secret: str | None = None


def _password_for(new: accounts.NewAccount) -> str:
    """A random password the policy accepts (16 URL-safe characters)."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            domain.check_password(password, email=new.email, display_name=new.display_name)
        except domain.PasswordRefused:
            continue
        return password


def _credentials(state_dir: Path) -> list[DemoSignIn]:
    """Generated once and kept (mode 0600) so that every `make run` prints the same sign-ins."""
    path = state_dir / "demo-accounts.json"
    if path.exists():
        return [DemoSignIn(**row) for row in json.loads(path.read_text())]
    generated = [
        DemoSignIn(
            role=new.role,
            email=new.email,
            password=_password_for(new),
            totp_secret=sessions.new_totp_secret() if new.role == "admin" else None,
        )
        for new in DEMO_ACCOUNTS
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump([asdict(row) for row in generated], handle)
    return generated


async def ensure_demo_accounts(*, state_dir: Path, database_url: str) -> list[DemoSignIn]:
    """Create the demo accounts that do not exist yet; returns every demo sign-in."""
    credentials = {row.email: row for row in _credentials(state_dir)}
    db = Database(database_url)
    try:
        async with db.session() as session, session.begin():
            for new in DEMO_ACCOUNTS:
                if await accounts.account_by_email(session=session, email=new.email) is not None:
                    continue
                row = credentials[new.email]
                account = await accounts.create_account(session=session, new=new, password=row.password)
                if row.totp_secret:
                    account.totp_secret, account.totp_enabled = row.totp_secret, True
                accounts.record(session, "invitation", account_id=account.id, client_address="demo")
    finally:
        await db.dispose()
    return [credentials[new.email] for new in DEMO_ACCOUNTS]


def totp_uri(sign_in: DemoSignIn) -> str | None:
    """The otpauth:// URI of a demo admin's second factor, for an authenticator app."""
    if sign_in.totp_secret is None:
        return None
    return pyotp.TOTP(sign_in.totp_secret).provisioning_uri(name=sign_in.email, issuer_name="Vidnova")
