"""Use cases: record who must know (consumer side) and manage subscriptions (HTTP side)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.attachments import attaches_file, kept_data
from services.notifications.models import (
    INBOX_WRITTEN,
    JOBS_QUEUED,
    Delivery,
    DeliveryAttempt,
    InboxSequence,
    Notification,
    Subscription,
)
from services.notifications.rendering import Locale, Message, render, render_all
from services.notifications.routing import Notice, audience_of, event_names_for, kind_of, notices_for
from services.notifications.schemas import SubscriptionCreate
from services.notifications.settings import NotificationsSettings
from services.notifications.webhooks import SecretBox, TargetPolicy, TargetRefused, new_secret
from shared.auth import Principal
from shared.db import announce, dialect_insert, utcnow
from shared.events.envelope import CloudEvent
from shared.events.payloads import Payload
from shared.events.registry import lookup
from shared.pagination import fetch_page, where_equal
from shared.problems import Problem, invalid_field


async def record_notices(*, session: AsyncSession, consumed: Sequence[tuple[Payload, CloudEvent]]) -> None:
    """Write each event's notices to its audiences' inboxes, in event order, and queue them for subscriptions.

    One statement per table for all the events a consumer poll brought (one event on the retry and
    replay paths), as Core inserts on the session's connection: ORM objects with a unit-of-work
    flush cost several times more (bench: profile of notifications). An inbox item is delivered as
    it is written: its delivery and attempt rows record that, and no event is published for it
    (e-mail and webhook outcomes are published by the delivery worker).
    """
    noticed = [(event, notices) for payload, event in consumed if (notices := notices_for(payload))]
    if not noticed:
        return
    audiences = Counter(notice.audience for _, notices in noticed for notice in notices)
    subscribers = await _subscribers(session, audiences=set(audiences))
    connection = await session.connection()
    positions = await _reserve_positions(connection, audiences)
    items: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    for event, notices in noticed:
        now = utcnow()
        event_name = lookup(event.type).name
        for notice in sorted(notices, key=lambda n: n.audience):
            messages = render_all(notice)
            item = _inbox_item(notice, messages, event, seq=next(positions[notice.audience]), now=now)
            items.append(item)
            deliveries.append(_inbox_delivery(item, event, messages["en"], now))
            attempts.append(_delivered_attempt(item["id"], now))
            for subscription in subscribers[notice.audience]:
                if subscription.event_types is None or event_name in subscription.event_types:
                    message = _subscription_message(subscription, notice, messages, event)
                    deliveries.append(_queued_delivery(subscription, message, event, now))
    await connection.execute(NOTIFICATIONS.insert(), items)
    await connection.execute(DELIVERIES.insert(), deliveries)
    await connection.execute(ATTEMPTS.insert(), attempts)
    announce(session, INBOX_WRITTEN)
    if len(deliveries) > len(items):
        announce(session, JOBS_QUEUED)


NOTIFICATIONS: sa.Table = Notification.__table__  # type: ignore[attr-defined]
DELIVERIES: sa.Table = Delivery.__table__  # type: ignore[attr-defined]
ATTEMPTS: sa.Table = DeliveryAttempt.__table__  # type: ignore[attr-defined]


async def _subscribers(session: AsyncSession, *, audiences: set[str]) -> dict[str, list[Subscription]]:
    """The active subscriptions of these audiences, oldest first (the caller applies event filters)."""
    rows = await session.exec(
        select(Subscription)
        .where(col(Subscription.audience).in_(audiences), col(Subscription.deleted_at).is_(None))
        .order_by(col(Subscription.created_at), col(Subscription.id))
    )
    found: dict[str, list[Subscription]] = defaultdict(list)
    for subscription in rows.all():
        found[subscription.audience].append(subscription)
    return found


def _inbox_item(
    notice: Notice, messages: dict[Locale, Message], event: CloudEvent, *, seq: int, now: datetime
) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "audience": notice.audience,
        "seq": seq,
        "source_event_id": event.id,
        "source_event_type": event.type,
        "subject_id": event.subject,
        "template": notice.template,
        "title": messages["en"].title,
        "body": messages["en"].body,
        "title_uk": messages["uk"].title,
        "body_uk": messages["uk"].body,
        "created_at": now,
    }


async def _reserve_positions(connection: AsyncConnection, counts: Counter[str]) -> dict[str, Iterator[int]]:
    """The next ``counts[audience]`` inbox positions of each audience, in one upsert.

    The counter rows are locked in one order (by audience), so concurrent writers cannot deadlock,
    and held until commit, so that items become visible in position order (SSE resume).
    """
    insert = dialect_insert(connection)(InboxSequence)
    statement = (
        insert.values([{"audience": audience, "last_seq": counts[audience]} for audience in sorted(counts)])
        .on_conflict_do_update(
            index_elements=["audience"],
            set_={"last_seq": col(InboxSequence.last_seq) + insert.excluded.last_seq},
        )
        .returning(col(InboxSequence.audience), col(InboxSequence.last_seq))
    )
    rows = (await connection.execute(statement)).all()
    return {audience: iter(range(last - counts[audience] + 1, last + 1)) for audience, last in rows}


def _inbox_delivery(
    item: dict[str, Any], event: CloudEvent, message: Message, now: datetime
) -> dict[str, Any]:
    """The inbox write is the delivery: recorded like any other (same id as the inbox item)."""
    row = _delivery_row(event, message, now)
    row.update(
        id=item["id"],
        recipient=item["audience"],
        channel="inbox",
        target=item["audience"],
        status="delivered",
        attempts=1,
        finished_at=now,
    )
    return row


def _queued_delivery(
    subscription: Subscription, message: Message, event: CloudEvent, now: datetime
) -> dict[str, Any]:
    """A job for the delivery worker: this subscription's channel, in its locale."""
    row = _delivery_row(event, message, now)
    row.update(
        recipient=f"subscription:{subscription.id}",
        channel=subscription.channel,
        subscription_id=subscription.id,
        target=subscription.target,
        locale=subscription.locale,
        data=kept_data(subscription.channel, event),
    )
    return row


def _subscription_message(
    subscription: Subscription, notice: Notice, messages: dict[Locale, Message], event: CloudEvent
) -> Message:
    """The notice in the subscription's language; an e-mail with a file attached says so (its own text)."""
    locale: Locale = "uk" if subscription.locale == "uk" else "en"
    if subscription.channel == "email" and attaches_file(event.type):
        return render(notice, locale, medium="email")
    return messages[locale]


def _delivery_row(event: CloudEvent, message: Message, now: datetime) -> dict[str, Any]:
    """Every column of a pending delivery (executemany needs the same keys in every row)."""
    return {
        "id": uuid4(),
        "source_event_id": event.id,
        "source_event_type": event.type,
        "subject_id": event.subject,
        "correlation_id": event.correlationid,
        "recipient": "",
        "channel": "",
        "subscription_id": None,
        "target": "",
        "locale": "en",
        "title": message.title,
        "body": message.body,
        "data": None,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "leased_until": None,
        "claim_token": None,
        "last_error": None,
        "created_at": now,
        "finished_at": None,
    }


def _delivered_attempt(delivery_id: UUID, now: datetime) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "number": 1,
        "started_at": now,
        "finished_at": now,
        "duration_ms": 0.0,
        "outcome": "delivered",
        "error": None,
        "response_status": None,
    }


# --- subscriptions ------------------------------------------------------------------------------


async def check_subscription(
    *, body: SubscriptionCreate, principal: Principal, settings: NotificationsSettings
) -> None:
    """Validation that needs context or I/O (DNS for the SSRF guard); run before any transaction."""
    allowed = event_names_for(kind_of(principal))
    for index, name in enumerate(body.event_types or []):
        if name not in allowed:
            raise invalid_field(
                f"body.event_types.{index}",
                f"{name!r} is not an event type you are told about; choose from {', '.join(allowed)}",
            )
    if body.channel == "webhook":
        try:
            await TargetPolicy.for_settings(settings).vet(body.target)
        except TargetRefused as exc:
            raise invalid_field("body.target", str(exc)) from exc


async def create_subscription(
    *,
    session: AsyncSession,
    body: SubscriptionCreate,
    principal: Principal,
    settings: NotificationsSettings,
) -> tuple[Subscription, str | None]:
    """Record a subscription; returns it with the webhook signing secret (shown only now)."""
    subscription = Subscription(
        owner=principal.sub,
        audience=audience_of(principal),
        channel=body.channel,
        target=body.target,
        event_types=body.event_types,
        locale=body.locale,
    )
    secret: str | None = None
    if body.channel == "webhook":
        secret = new_secret()
        subscription.secret = SecretBox(settings.webhook_master_secret()).seal(secret)
    session.add(subscription)
    try:
        await session.flush()
    except sa.exc.IntegrityError as exc:
        raise Problem(
            409, "Conflict", f"you already have an active {body.channel} subscription for this target"
        ) from exc
    return subscription, secret


async def list_subscriptions(
    *, session: AsyncSession, principal: Principal, limit: int, cursor: str | None
) -> tuple[list[Subscription], str | None]:
    """The caller's active subscriptions, newest first."""
    statement = select(Subscription).where(
        Subscription.owner == principal.sub, col(Subscription.deleted_at).is_(None)
    )
    return await fetch_page(session, statement, limit=limit, cursor=cursor)


async def delete_subscription(*, session: AsyncSession, principal: Principal, subscription_id: UUID) -> None:
    """End one of the caller's subscriptions; its queued deliveries are cancelled."""
    subscription = await session.get(Subscription, subscription_id, with_for_update=True)
    if subscription is None or subscription.owner != principal.sub or subscription.deleted_at is not None:
        raise Problem(404, "Not Found", f"no subscription {subscription_id} of yours")
    now = utcnow()
    subscription.deleted_at = now
    await session.execute(
        sa.update(Delivery)
        .where(col(Delivery.subscription_id) == subscription_id, col(Delivery.status) == "pending")
        .values(status="cancelled", finished_at=now, last_error="subscription deleted", leased_until=None)
    )


# --- deliveries ---------------------------------------------------------------------------------


async def list_deliveries(
    *,
    session: AsyncSession,
    status: str | None,
    channel: str | None,
    source_event_id: UUID | None,
    subject_id: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Delivery, list[DeliveryAttempt]]], str | None]:
    """Deliveries newest first, each with all its attempts, oldest attempt first."""
    statement = select(Delivery)
    statement = where_equal(
        statement,
        (Delivery.status, status),
        (Delivery.channel, channel),
        (Delivery.source_event_id, source_event_id),
        (Delivery.subject_id, subject_id),
    )
    rows, next_cursor = await fetch_page(session, statement, limit=limit, cursor=cursor)
    attempts: dict[UUID, list[DeliveryAttempt]] = defaultdict(list)
    if rows:
        found = await session.exec(
            select(DeliveryAttempt)
            .where(col(DeliveryAttempt.delivery_id).in_([row.id for row in rows]))
            .order_by(col(DeliveryAttempt.delivery_id), col(DeliveryAttempt.number))
        )
        for attempt in found.all():
            attempts[attempt.delivery_id].append(attempt)
    return [(row, attempts[row.id]) for row in rows], next_cursor
