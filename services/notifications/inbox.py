"""The in-app inbox: one per audience (role and scope), read marks per reader, SSE positions."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.models import InboxSequence, Notification, NotificationRead
from services.notifications.routing import audience_of
from shared.auth import Principal
from shared.db import dialect_insert, utcnow
from shared.problems import Problem, invalid_field

MAX_POSITION = 2**63 - 1  # BIGINT


async def inbox_page(
    *,
    session: AsyncSession,
    principal: Principal,
    unread: bool,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Notification, bool]], str | None]:
    """The caller's inbox, newest first, each item with whether the caller has read it."""
    read_mark = sa.exists().where(
        col(NotificationRead.notification_id) == col(Notification.id),
        col(NotificationRead.reader) == principal.sub,
    )
    statement = select(Notification, read_mark.label("read")).where(
        Notification.audience == audience_of(principal)
    )
    if unread:
        statement = statement.where(~read_mark)
    if cursor is not None:
        statement = statement.where(col(Notification.seq) < decode_position(cursor, field="query.cursor"))
    statement = statement.order_by(col(Notification.seq).desc()).limit(limit + 1)
    rows = [(item, bool(read)) for item, read in (await session.exec(statement)).all()]
    more = len(rows) > limit
    return rows[:limit], encode_position(rows[limit - 1][0].seq) if more else None


async def mark_read(*, session: AsyncSession, principal: Principal, notification_id: UUID) -> Notification:
    """Mark an item of the caller's inbox read by the caller (idempotent)."""
    item = await session.get(Notification, notification_id)
    if item is None or item.audience != audience_of(principal):
        raise Problem(404, "Not Found", f"no notification {notification_id} in your inbox")
    await session.execute(
        dialect_insert(session)(NotificationRead)
        .values(notification_id=notification_id, reader=principal.sub, read_at=utcnow())
        .on_conflict_do_nothing(index_elements=["notification_id", "reader"])
    )
    return item


async def latest_position(*, session: AsyncSession, audience: str) -> int:
    """The position of the newest item in an audience's inbox (0 when empty)."""
    last = await session.get(InboxSequence, audience)
    return last.last_seq if last else 0


async def items_after(
    *, session: AsyncSession, audience: str, position: int, limit: int = 100
) -> Sequence[Notification]:
    """Items of an audience's inbox after a position, oldest first (what a stream sends next)."""
    rows = await session.exec(
        select(Notification)
        .where(Notification.audience == audience, col(Notification.seq) > position)
        .order_by(col(Notification.seq))
        .limit(limit)
    )
    return rows.all()


def encode_position(seq: int) -> str:
    """An opaque list cursor for an inbox position."""
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def decode_position(cursor: str, *, field: str) -> int:
    """Inverse of encode_position; 422 naming the field for anything else."""
    try:
        kind, value = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_field(field, "not a cursor returned by this API") from exc
    if kind != "seq":
        raise invalid_field(field, "not a cursor returned by this API")
    return parse_position(value, field=field)


def parse_position(value: str, *, field: str) -> int:
    """An inbox position as sent back by a client (a list cursor or an SSE ``Last-Event-ID``)."""
    if not value.isascii() or not value.isdigit() or int(value) > MAX_POSITION:
        raise invalid_field(field, "not an event id sent by this stream")
    return int(value)
