"""`vidnova account create|list|deactivate`: the console's built-in accounts from a shell (SPEC §12)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, cast

from services.console import accounts, domain
from services.console.settings import ConsoleSettings
from shared.auth import ROLES
from shared.db import Database


def add_account_command(commands: Any) -> None:
    """Register ``account`` on the ``vidnova`` command line."""
    account = commands.add_parser("account", help="create, list or deactivate console accounts")
    actions = account.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create an account; prints a one-time sign-in link")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    scope = create.add_mutually_exclusive_group()
    scope.add_argument("--region", help="ISO 3166-2:UA code, for region_admin (e.g. UA-63)")
    scope.add_argument("--donor-id", help="for donor (e.g. jica)")
    create.add_argument("--name", help="display name (default: the email)")
    create.add_argument("--locale", choices=domain.LOCALES, default="uk")
    create.add_argument(
        "--password-stdin", action="store_true", help="set the password read from stdin instead of a link"
    )
    actions.add_parser("list", help="every account with role, scope and state")
    deactivate = actions.add_parser("deactivate", help="stop an account signing in and end its sessions")
    deactivate.add_argument("email")
    account.set_defaults(run=cmd_account)


def cmd_account(args: argparse.Namespace) -> int:
    settings = ConsoleSettings()
    try:
        if args.action == "create":
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
            print(asyncio.run(create(settings, args, password)))
        elif args.action == "list":
            for line in asyncio.run(listing(settings)):
                print(line)
        else:
            print(asyncio.run(deactivate(settings, args.email)))
    except (accounts.AccountExists, accounts.AccountNotFound) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except (domain.PasswordRefused, domain.ScopeInvalid) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


async def create(settings: ConsoleSettings, args: argparse.Namespace, password: str | None) -> str:
    """Create the account; the password from stdin, else a one-time link printed (not e-mailed)."""
    new = accounts.NewAccount(
        email=args.email,
        display_name=args.name or args.email,
        role=args.role,
        region=args.region,
        donor_id=args.donor_id,
        locale=cast(domain.Locale, args.locale),
    )
    db = Database(settings.database_url)
    try:
        async with db.session() as session, session.begin():
            account = await accounts.create_account(session=session, new=new, password=password)
            accounts.record(session, "invitation", account_id=account.id, client_address="cli")
            if password is not None:
                return f"{account.email}: created with the password given"
            link = await accounts.issue_link(
                session=session,
                account=account,
                purpose="invitation",
                public_url=settings.public_url,
                publish=False,
            )
            return f"{account.email}: created; one-time link to set the password (72 h):\n{link}"
    finally:
        await db.dispose()


async def listing(settings: ConsoleSettings) -> list[str]:
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            rows = await accounts.list_accounts(session=session)
    finally:
        await db.dispose()
    return [
        f"{a.email}\t{a.role}\t{a.region or a.donor_id or '-'}\t{'active' if a.active else 'deactivated'}"
        f"\t{'totp' if a.totp_enabled else '-'}\t{a.display_name}"
        for a in rows
    ]


async def deactivate(settings: ConsoleSettings, email: str) -> str:
    db = Database(settings.database_url)
    try:
        async with db.session() as session, session.begin():
            account = await accounts.account_by_email(session=session, email=email)
            if account is None:
                raise accounts.AccountNotFound(email)
            await accounts.deactivate(
                session=session, account_id=account.id, actor_id=None, client_address="cli"
            )
            return f"{account.email}: deactivated; its sessions have ended"
    finally:
        await db.dispose()
