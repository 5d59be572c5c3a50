"""The console's events: invitations and password resets, each carrying a one-time link."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.events.payloads import AccountInvited, AccountPasswordReset

SOURCE = "console"


def link_event(
    *,
    purpose: Literal["invitation", "reset"],
    account_id: UUID,
    email: str,
    display_name: str,
    locale: Literal["uk", "en"],
    link: str,
    expires_at: datetime,
) -> AccountInvited | AccountPasswordReset:
    """The event that has the notifications service e-mail this link to the person."""
    payload_class = AccountInvited if purpose == "invitation" else AccountPasswordReset
    return payload_class(
        account_id=account_id,
        email=email,
        display_name=display_name,
        locale=locale,
        link=link,
        expires_at=expires_at,
    )
