"""HTTP routes of the notifications service: turn input into a use-case call, nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.notifications import inbox, service, tickets
from services.notifications.rendering import Locale, negotiate_locale
from services.notifications.routing import audience_of
from services.notifications.schemas import (
    DeliveryPage,
    NotificationOut,
    NotificationPage,
    StreamTicketOut,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPage,
    problems,
)
from services.notifications.settings import NotificationsSettings
from services.notifications.shapes import delivery_out, subscription_out, to_public
from services.notifications.stream import StreamSlots, inbox_events
from shared.auth import CurrentPrincipal, Principal, TokenVerifier, require_roles, unauthorized
from shared.service import RuntimeDep, SessionDep

Limit = Annotated[int, Query(ge=1, le=200)]

notifications = APIRouter(prefix="/v1/notifications", tags=["notifications"])
subscriptions = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])
deliveries = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])
ROUTERS = (notifications, subscriptions, deliveries)


async def preferred_locale(accept_language: Annotated[str | None, Header()] = None) -> Locale:
    """The caller's language from ``Accept-Language`` (English unless Ukrainian is preferred)."""
    return negotiate_locale(accept_language)


PreferredLocale = Annotated[Locale, Depends(preferred_locale)]


def _language_headers(response: Response, locale: Locale) -> None:
    response.headers["Content-Language"] = locale
    response.headers["Vary"] = "Accept-Language"


@notifications.get(
    "",
    response_model=NotificationPage,
    summary="The caller's inbox, newest first",
    responses=problems(401, 422),
)
async def list_inbox(
    principal: CurrentPrincipal,
    session: SessionDep,
    locale: PreferredLocale,
    response: Response,
    unread: bool = False,
    limit: Limit = 50,
    cursor: str | None = None,
) -> NotificationPage:
    rows, next_cursor = await inbox.inbox_page(
        session=session, principal=principal, unread=unread, limit=limit, cursor=cursor
    )
    _language_headers(response, locale)
    return NotificationPage(
        items=[to_public(item, locale=locale, read=read) for item, read in rows],
        next_cursor=next_cursor,
    )


@notifications.post(
    "/{notification_id}/read",
    response_model=NotificationOut,
    summary="Mark an inbox item read (by you)",
    responses=problems(401, 404, 422),
)
async def mark_read(
    notification_id: UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    locale: PreferredLocale,
    response: Response,
) -> NotificationOut:
    async with session.begin():
        item = await inbox.mark_read(session=session, principal=principal, notification_id=notification_id)
    _language_headers(response, locale)
    return to_public(item, locale=locale, read=True)


async def notifications_settings(request: Request) -> NotificationsSettings:
    """This service's settings (SMTP, webhook guard and signing key), put on the app by ``app.py``."""
    settings: NotificationsSettings = request.app.state.notifications_settings
    return settings


_optional_bearer = HTTPBearer(auto_error=False)
TICKET_HELP = "For a browser's EventSource, which cannot send headers: a ticket from POST .../stream-ticket"


@notifications.post(
    "/stream-ticket",
    status_code=201,
    response_model=StreamTicketOut,
    summary="A single-use ticket (valid 60 s) that opens one stream without a token in the URL",
    responses=problems(401, 429),
)
async def create_stream_ticket(principal: CurrentPrincipal, session: SessionDep) -> StreamTicketOut:
    async with session.begin():
        ticket, expires_at = await tickets.issue_ticket(session=session, principal=principal)
    return StreamTicketOut(ticket=ticket, expires_at=expires_at)


async def stream_principal(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)],
    ticket: Annotated[str | None, Query(max_length=128, description=TICKET_HELP)] = None,
) -> Principal:
    """The bearer token from the header or, for a browser's EventSource, a single-use ticket."""
    if credentials is not None:
        verifier: TokenVerifier = request.app.state.token_verifier
        return await verifier.verify(credentials.credentials)
    if ticket is None:
        raise unauthorized("missing bearer token (or a ticket from POST /v1/notifications/stream-ticket)")
    async with runtime.db.session() as session, session.begin():
        return await tickets.redeem_ticket(session=session, ticket=ticket)


@notifications.get(
    "/stream",
    summary="Server-sent events of the caller's inbox; resume with Last-Event-ID",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **problems(401, 422, 429)},
)
async def stream_inbox(
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(stream_principal)],
    settings: Annotated[NotificationsSettings, Depends(notifications_settings)],
    locale: PreferredLocale,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    audience = audience_of(principal)
    if last_event_id is not None:
        position = inbox.parse_position(last_event_id.strip(), field="header.last-event-id")
    else:
        async with runtime.db.session() as session:
            position = await inbox.latest_position(session=session, audience=audience)
    slots: StreamSlots = request.app.state.stream_slots
    slots.take(principal.sub)  # 429 now, before the response starts; given back when the stream ends

    async def events() -> AsyncIterator[str]:
        try:
            async for chunk in inbox_events(
                db=runtime.db,
                audience=audience,
                reader=principal.sub,
                position=position,
                locale=locale,
                bell=request.app.state.inbox_bell,
                expires_at=principal.expires_at,
                ping_s=settings.sse_ping_interval_s,
            ):
                yield chunk
        finally:
            slots.release(principal.sub)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Content-Language": locale}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


# --- subscriptions ------------------------------------------------------------------------------


@subscriptions.post(
    "",
    status_code=201,
    response_model=SubscriptionCreated,
    summary="Subscribe yourself (e-mail or webhook)",
    responses={
        201: {"headers": {"Location": {"description": "The new subscription", "schema": {"type": "string"}}}},
        **problems(400, 401, 409, 413, 422),
    },
)
async def create_subscription(
    body: SubscriptionCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: Annotated[NotificationsSettings, Depends(notifications_settings)],
    response: Response,
) -> SubscriptionCreated:
    await service.check_subscription(body=body, principal=principal, settings=settings)
    async with session.begin():
        subscription, secret = await service.create_subscription(
            session=session, body=body, principal=principal, settings=settings
        )
    response.headers["Location"] = f"/v1/subscriptions/{subscription.id}"
    return SubscriptionCreated(**subscription_out(subscription).model_dump(), secret=secret)


@subscriptions.get(
    "",
    response_model=SubscriptionPage,
    summary="Your subscriptions, newest first",
    responses=problems(401, 422),
)
async def list_subscriptions(
    principal: CurrentPrincipal, session: SessionDep, limit: Limit = 50, cursor: str | None = None
) -> SubscriptionPage:
    rows, next_cursor = await service.list_subscriptions(
        session=session, principal=principal, limit=limit, cursor=cursor
    )
    return SubscriptionPage(items=[subscription_out(s) for s in rows], next_cursor=next_cursor)


@subscriptions.delete(
    "/{subscription_id}",
    status_code=204,
    summary="End one of your subscriptions",
    responses=problems(401, 404, 422),
)
async def delete_subscription(
    subscription_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    async with session.begin():
        await service.delete_subscription(
            session=session, principal=principal, subscription_id=subscription_id
        )
    return Response(status_code=204)


# --- deliveries ---------------------------------------------------------------------------------

Operator = Annotated[Principal, Depends(require_roles("coordinator", "admin"))]


@deliveries.get(
    "",
    response_model=DeliveryPage,
    summary="Every delivery and attempt (operators)",
    responses=problems(401, 403, 422),
)
async def list_deliveries(
    _: Operator,
    session: SessionDep,
    status: Literal["pending", "delivered", "failed", "cancelled"] | None = None,
    channel: Literal["inbox", "email", "webhook"] | None = None,
    source_event_id: UUID | None = None,
    subject_id: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> DeliveryPage:
    rows, next_cursor = await service.list_deliveries(
        session=session,
        status=status,
        channel=channel,
        source_event_id=source_event_id,
        subject_id=subject_id,
        limit=limit,
        cursor=cursor,
    )
    return DeliveryPage(items=[delivery_out(d, a) for d, a in rows], next_cursor=next_cursor)
