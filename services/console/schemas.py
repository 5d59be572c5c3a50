"""The console's HTTP shapes: what the notifications API answers, and the admin's role-and-scope form."""

from __future__ import annotations

from datetime import datetime
from typing import cast
from uuid import UUID

from pydantic import BaseModel

from services.console import domain


class Notification(BaseModel):
    """An inbox item as the notifications service shows it."""

    id: UUID
    seq: int
    type: str
    title: str
    body: str
    created_at: datetime
    read: bool


class ScopeForm(BaseModel):
    """Role, region and donor as the invite and change-role forms send them (blank means none)."""

    role: str
    region: str = ""
    donor_id: str = ""

    def parsed(self) -> tuple[domain.Role, str | None, str | None]:
        """The role and its scope, checked; ScopeInvalid names what is wrong."""
        if self.role not in domain.ROLE_LABELS:
            raise domain.ScopeInvalid(domain.N_("Choose a role."))
        role = cast(domain.Role, self.role)
        region, donor_id = self.region.strip().upper() or None, self.donor_id.strip() or None
        domain.check_scope(role, region=region, donor_id=donor_id)
        return role, region, donor_id
