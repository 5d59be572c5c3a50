"""Stream tickets: a bearer-token holder trades its token for a single-use ticket valid 60 s."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.models import StreamTicket
from shared.auth import Principal, principal_from_claims, unauthorized
from shared.db import utcnow

TICKET_TTL = timedelta(seconds=60)
KEEP_USED = timedelta(hours=1)


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


async def issue_ticket(*, session: AsyncSession, principal: Principal) -> tuple[str, datetime]:
    """A new ticket for the caller; only its hash is stored. Old tickets are swept on the way."""
    now = utcnow()
    await session.execute(sa.delete(StreamTicket).where(col(StreamTicket.expires_at) < now - KEEP_USED))
    ticket = secrets.token_urlsafe(32)
    expires_at = now + TICKET_TTL
    token_expires_at = (
        datetime.fromtimestamp(principal.expires_at, UTC) if principal.expires_at is not None else None
    )
    session.add(
        StreamTicket(
            ticket_hash=_hash(ticket),
            sub=principal.sub,
            role=principal.role,
            region=principal.region,
            donor_id=principal.donor_id,
            token_expires_at=token_expires_at,
            expires_at=expires_at,
        )
    )
    return ticket, expires_at


async def redeem_ticket(*, session: AsyncSession, ticket: str) -> Principal:
    """The principal a ticket was issued to; 401 if it is unknown, expired or already used."""
    now = utcnow()
    claimed = (
        await session.execute(
            sa.update(StreamTicket)
            .where(
                col(StreamTicket.ticket_hash) == _hash(ticket),
                col(StreamTicket.used_at).is_(None),
                col(StreamTicket.expires_at) > now,
            )
            .values(used_at=now)
            .returning(
                col(StreamTicket.sub),
                col(StreamTicket.role),
                col(StreamTicket.region),
                col(StreamTicket.donor_id),
                col(StreamTicket.token_expires_at),
            )
        )
    ).first()
    if claimed is None:
        raise unauthorized("the stream ticket is unknown, expired or already used; ask for a new one")
    sub, role, region, donor_id, token_expires_at = claimed
    claims = {"sub": sub, "role": role, "region": region, "donor_id": donor_id}
    if token_expires_at is not None:
        claims["exp"] = token_expires_at.timestamp()
    return principal_from_claims(claims)
