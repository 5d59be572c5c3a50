"""Rows as the admin pages show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.console.models import Account, SignInEvent


@dataclass(frozen=True)
class AccountRow:
    """One line of /admin/accounts."""

    id: UUID
    email: str
    display_name: str
    role: str
    scope: str | None  # the region or donor the role carries
    active: bool
    region: str | None
    donor_id: str | None


def account_row(account: Account) -> AccountRow:
    return AccountRow(
        id=account.id,
        email=account.email,
        display_name=account.display_name,
        role=account.role,
        scope=account.region or account.donor_id,
        active=account.active,
        region=account.region,
        donor_id=account.donor_id,
    )


@dataclass(frozen=True)
class AuditRow:
    """One line of /admin/sign-ins."""

    at: datetime
    kind: str
    email: str | None
    client_address: str | None
    detail: str | None


def audit_row(event: SignInEvent, email: str | None) -> AuditRow:
    return AuditRow(
        at=event.at, kind=event.kind, email=email, client_address=event.client_address, detail=event.detail
    )
