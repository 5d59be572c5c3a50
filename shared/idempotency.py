"""``Idempotency-Key`` for create endpoints: one outcome per (caller, key), held by a primary key.

Each service keeps its keys in its own database (the table every service's migrations create), as
it keeps everything else; the logic lives here once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Column, Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import UTCDateTime, dialect_insert, utcnow
from shared.problems import Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


class IdempotencyRecord(SQLModel, table=True):
    """A caller's key and the response its first use produced."""

    __tablename__ = "idempotency_keys"

    caller: str = Field(primary_key=True, max_length=255)
    key: str = Field(primary_key=True, max_length=MAX_KEY_LENGTH)
    fingerprint: str = Field(max_length=64)
    status_code: int | None = None
    response_body: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))
    location: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


@dataclass(frozen=True)
class StoredResponse:
    """The response a key's first use produced, replayed verbatim."""

    status_code: int
    body: str
    location: str | None

    @classmethod
    def created(cls, shape: BaseModel, location: str) -> StoredResponse:
        """201 with the new resource's public shape and its ``Location``."""
        return cls(status_code=201, body=shape.model_dump_json(), location=location)


def fingerprint(body: BaseModel) -> str:
    """Hash of the validated body: the same request however its JSON was spelled."""
    canonical = json.dumps(
        body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(session: AsyncSession, *, caller: str, key: str, fingerprint: str) -> StoredResponse | None:
    """Reserve the key in the caller's transaction; None if this call owns it, else the earlier response.

    The insert is the arbiter: on PostgreSQL a concurrent claim of the same key waits on the primary key
    until the first transaction ends, then sees its row (or takes the key if that one rolled back);
    SQLite serialises writers outright. A key reused with a different body is a 409.
    """
    claimed = await session.execute(
        dialect_insert(session)(IdempotencyRecord)
        .values(caller=caller, key=key, fingerprint=fingerprint, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["caller", "key"])
        .returning(col(IdempotencyRecord.key))
    )
    if claimed.first() is not None:
        return None
    earlier = (
        await session.execute(
            sa.select(
                col(IdempotencyRecord.fingerprint),
                col(IdempotencyRecord.status_code),
                col(IdempotencyRecord.response_body),
                col(IdempotencyRecord.location),
            ).where(col(IdempotencyRecord.caller) == caller, col(IdempotencyRecord.key) == key)
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
        sa.update(IdempotencyRecord)
        .where(col(IdempotencyRecord.caller) == caller, col(IdempotencyRecord.key) == key)
        .values(status_code=response.status_code, response_body=response.body, location=response.location)
    )


async def create_once(
    session: AsyncSession,
    *,
    caller: str,
    key: str | None,
    body: BaseModel,
    create: Callable[[], Awaitable[StoredResponse]],
) -> JSONResponse:
    """Run ``create`` and remember its response in one transaction, or replay what the key's first use got."""
    async with session.begin():
        if key is not None:
            earlier = await claim(session, caller=caller, key=key, fingerprint=fingerprint(body))
            if earlier is not None:
                return as_response(earlier, replayed=True)
        created = await create()
        if key is not None:
            await remember(session, caller=caller, key=key, response=created)
    return as_response(created, replayed=False)


class StoredJSONResponse(JSONResponse):
    """A JSON response whose body is sent as it was serialised and stored (not parsed and dumped again)."""

    def render(self, content: Any) -> bytes:
        return content.encode() if isinstance(content, str) else super().render(content)


def as_response(stored: StoredResponse, *, replayed: bool) -> JSONResponse:
    """The HTTP response for a stored outcome; a replay says so in ``Idempotent-Replayed``."""
    headers = {"Location": stored.location} if stored.location else {}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return StoredJSONResponse(stored.body, status_code=stored.status_code, headers=headers)


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Retry-safe creation: the same key and body return the original response.",
    ),
]
