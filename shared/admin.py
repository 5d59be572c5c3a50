"""Operational endpoints every service has (SPEC §15): its dead letters and its outbox, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from shared.actor import acting_as
from shared.auth import Principal, require_roles
from shared.dead_letters import DeadLetterStatus, list_dead_letters, open_dead_letter, resolve
from shared.events.registry import MalformedEvent, UnknownEventType
from shared.fields import IsoDateTime
from shared.outbox import OutboxRecord
from shared.problems import Problem, invalid_field, problem_responses, reject_unknown_query
from shared.redaction import describe_error
from shared.service import RuntimeDep, SessionDep

Admin = Annotated[Principal, Depends(require_roles("admin"))]
Limit = Annotated[int, Query(ge=1, le=200)]
admin = APIRouter(prefix="/v1/admin", tags=["operations"], dependencies=[Depends(reject_unknown_query)])


class DeadLetterOut(BaseModel):
    """A dead letter as operators see it (the record's bytes are not shown)."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    consumer: str
    topic: str
    partition: int
    offset: int
    key: str | None
    event_type: str | None
    event_id: UUID | None
    error: str
    attempts: int
    status: str
    reason: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    created_at: datetime


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next_cursor: str | None


class Replayed(DeadLetterOut):
    outcome: Literal["handled", "duplicate"] = Field(description="duplicate: it had been handled meanwhile")


class Discard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class OutboxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: UUID
    event_type: str
    stream: str
    key: str
    created_at: datetime
    published_at: datetime | None
    attempts: int
    last_error: str | None


class OutboxPage(BaseModel):
    items: list[OutboxOut]
    next_cursor: str | None


@admin.get(
    "/dead-letters",
    response_model=DeadLetterPage,
    summary="Records this service's consumers gave up on, newest first (kept 30 days)",
    responses=problem_responses(401, 403, 422),
)
async def get_dead_letters(
    _: Admin,
    session: SessionDep,
    status: DeadLetterStatus | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> DeadLetterPage:
    rows, next_cursor = await list_dead_letters(session=session, status=status, limit=limit, cursor=cursor)
    return DeadLetterPage(items=[DeadLetterOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@admin.post(
    "/dead-letters/{letter_id}/replay",
    response_model=Replayed,
    summary="Hand a dead letter to its consumer again (a no-op if it was handled meanwhile)",
    responses=problem_responses(
        401, 403, 404, 409, 422, described={409: "Already resolved, or it failed again"}
    ),
)
async def replay_dead_letter(letter_id: UUID, principal: Admin, runtime: RuntimeDep) -> Replayed:
    async with runtime.db.session() as session:
        letter = await open_dead_letter(session=session, letter_id=letter_id)
    consumer = next((c for c in runtime.consumers if c.group == letter.consumer), None)
    if consumer is None:
        raise Problem(409, "Conflict", f"no consumer {letter.consumer!r} runs in this service")
    try:
        # Its own transaction, as when it was consumed; its effects are the consumer's doing, not the admin's.
        with acting_as(None):
            outcome = await consumer.replay(letter)
    except (MalformedEvent, UnknownEventType) as exc:
        raise Problem(409, "Conflict", f"cannot be replayed: {describe_error(exc)}") from exc
    except Exception as exc:
        raise Problem(409, "Conflict", f"failed again: {describe_error(exc)}") from exc
    async with runtime.db.session() as session, session.begin():
        letter = await open_dead_letter(session=session, letter_id=letter_id)
        resolve(letter, status="replayed", by=principal.sub, reason=f"replayed: {outcome}")
    return Replayed(**DeadLetterOut.model_validate(letter).model_dump(), outcome=outcome)


@admin.post(
    "/dead-letters/{letter_id}/discard",
    response_model=DeadLetterOut,
    summary="Mark a dead letter resolved without handling it",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
async def discard_dead_letter(
    letter_id: UUID, body: Discard, principal: Admin, session: SessionDep
) -> DeadLetterOut:
    async with session.begin():
        letter = await open_dead_letter(session=session, letter_id=letter_id)
        resolve(letter, status="discarded", by=principal.sub, reason=body.reason)
    return DeadLetterOut.model_validate(letter)


@admin.get(
    "/outbox",
    response_model=OutboxPage,
    summary="Events this service published or will publish, newest first",
    responses=problem_responses(401, 403, 422),
)
async def get_outbox(
    _: Admin,
    session: SessionDep,
    type: Annotated[
        str | None,
        Query(max_length=120, pattern=r"^[a-z0-9._-]+$", description="e.g. vidnova.request.submitted.v1"),
    ] = None,
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
    published: bool | None = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> OutboxPage:
    statement: Any = select(OutboxRecord)
    filters: list[Any] = []
    if type is not None:
        filters.append(col(OutboxRecord.event_type) == type)
    if since is not None:
        filters.append(col(OutboxRecord.created_at) >= since)
    if until is not None:
        filters.append(col(OutboxRecord.created_at) < until)
    if published is not None:
        filters.append(
            col(OutboxRecord.published_at).is_not(None)
            if published
            else col(OutboxRecord.published_at).is_(None)
        )
    if cursor is not None:
        if not cursor.isdigit():
            raise invalid_field("query.cursor", "not a cursor returned by this API")
        filters.append(col(OutboxRecord.id) < int(cursor))
    statement = (
        statement.where(sa.and_(sa.true(), *filters)).order_by(col(OutboxRecord.id).desc()).limit(limit + 1)
    )
    rows = list((await session.exec(statement)).all())
    more = len(rows) > limit
    items = [OutboxOut.model_validate(r) for r in rows[:limit]]
    return OutboxPage(items=items, next_cursor=str(items[-1].id) if more else None)
