"""HTTP routes of the notifications service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import col, select

from services.notifications.models import Notification
from services.notifications.routing import audiences_of
from shared.auth import CurrentPrincipal
from shared.db import utcnow
from shared.problems import Problem
from shared.service import SessionDep

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


class NotificationOut(BaseModel):
    id: UUID
    audience: str
    type: str
    subject_id: str
    title: str
    body: str
    created_at: datetime
    read: bool


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


def to_public(n: Notification) -> NotificationOut:
    """The public shape of an inbox item."""
    return NotificationOut(
        id=n.id,
        audience=n.audience,
        type=n.source_event_type,
        subject_id=n.subject_id,
        title=n.title,
        body=n.body,
        created_at=n.created_at,
        read=n.read_at is not None,
    )


@router.get("", response_model=NotificationPage, summary="The caller's inbox, newest first")
async def inbox(
    principal: CurrentPrincipal,
    session: SessionDep,
    unread: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationPage:
    statement = select(Notification).where(col(Notification.audience).in_(audiences_of(principal)))
    if unread:
        statement = statement.where(col(Notification.read_at).is_(None))
    statement = statement.order_by(col(Notification.created_at).desc(), col(Notification.id).desc()).limit(
        limit
    )
    rows = (await session.exec(statement)).all()
    return NotificationPage(items=[to_public(n) for n in rows], next_cursor=None)


@router.post("/{notification_id}/read", response_model=NotificationOut, summary="Mark an inbox item read")
async def mark_read(
    notification_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> NotificationOut:
    async with session.begin():
        item = await session.get(Notification, notification_id, with_for_update=True)
        if item is None or item.audience not in audiences_of(principal):
            raise Problem(404, "Not Found", f"no notification {notification_id} in your inbox")
        if item.read_at is None:
            item.read_at = utcnow()
    return to_public(item)
