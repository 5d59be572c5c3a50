"""``Idempotency-Key`` on ``POST /v1/requests``: one outcome per (caller, key), held by a primary key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests.models import IdempotencyKey
from shared.db import utcnow
from shared.problems import Problem

HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class StoredResponse:
    """The response a key's first use produced, replayed verbatim."""

    status_code: int
    body: str
    location: str | None


def fingerprint(body: BaseModel) -> str:
    """Hash of the validated body: the same request however its JSON was spelled."""
    canonical = json.dumps(
        body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(session: AsyncSession, *, caller: str, key: str, fingerprint: str) -> StoredResponse | None:
    """Reserve the key in the caller's transaction; None if this call owns it, else the earlier response.

    The insert is the arbiter: on PostgreSQL a concurrent claim of the same key waits on the unique index
    until the first transaction ends, then sees its row (or takes the key if that transaction rolled back);
    SQLite serialises writers outright. A key reused with a different body is a 409.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    claimed = await session.execute(
        insert(IdempotencyKey)
        .values(caller=caller, key=key, fingerprint=fingerprint, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["caller", "key"])
        .returning(col(IdempotencyKey.key))
    )
    if claimed.first() is not None:
        return None
    earlier = (
        await session.execute(
            sa.select(
                col(IdempotencyKey.fingerprint),
                col(IdempotencyKey.status_code),
                col(IdempotencyKey.response_body),
                col(IdempotencyKey.location),
            ).where(col(IdempotencyKey.caller) == caller, col(IdempotencyKey.key) == key)
        )
    ).one()
    if earlier.fingerprint != fingerprint:
        raise Problem(
            409,
            "Idempotency key reused",
            f"{HEADER} {key!r} was already used with a different body; use a new key for a new request",
        )
    if earlier.status_code is None or earlier.response_body is None:  # never committed without a response
        raise Problem(409, "Idempotency key in use", f"{HEADER} {key!r} has no recorded response")
    return StoredResponse(earlier.status_code, earlier.response_body, earlier.location)


async def remember(session: AsyncSession, *, caller: str, key: str, response: StoredResponse) -> None:
    """Record the response of the call that owns the key (same transaction as its effects)."""
    await session.execute(
        sa.update(IdempotencyKey)
        .where(col(IdempotencyKey.caller) == caller, col(IdempotencyKey.key) == key)
        .values(status_code=response.status_code, response_body=response.body, location=response.location)
    )
