"""The inbox page, "Mark read", and the live stream relayed from the notifications service."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from services.console.api.frame import CsrfChecked, PersonDep, clients_of, redirect, render
from services.console.clients import Caller, NotificationsClient, ServiceUnavailable
from services.console.schemas import Notification

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@router.get("/inbox")
async def inbox_page(request: Request, visitor: PersonDep) -> Response:
    items = await clients_of(request).notifications.inbox(visitor.caller())
    return await render(request, "inbox.html", {"items": items})


@router.post("/inbox/{notification_id}/read", dependencies=[CsrfChecked])
async def mark_read(request: Request, visitor: PersonDep, notification_id: UUID) -> Response:
    notifications = clients_of(request).notifications
    item = await notifications.mark_read(visitor.caller(), notification_id)
    if request.headers.get("hx-request"):
        # The item swapped in place, and the header's count out of band.
        unread = await notifications.unread_count(visitor.caller())
        return await render(request, "fragments/read.html", {"item": item, "unread": unread, "oob": True})
    return redirect("/inbox")


def _sse(event: str, html: str) -> str:
    """One server-sent event whose data is an HTML fragment (one `data:` line per line of it)."""
    data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
    return f"event: {event}\n{data}\n\n"


async def _relay(
    request: Request,
    client: NotificationsClient,
    caller: Caller,
    *,
    csrf_token: str,
    last_event_id: str | None,
) -> AsyncIterator[str]:
    """The person's notifications as HTML fragments, and the unread count after each."""
    environment = request.app.state.pages[caller.locale]
    fragment = environment.get_template("fragments/notification.html")
    yield "retry: 3000\n\n"
    try:
        async with client.stream(caller, last_event_id=last_event_id) as lines:
            event = ""
            async for line in lines:
                if line.startswith("id:"):
                    yield line + "\n"  # the browser sends it back on reconnect: nothing is missed
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "notification":
                    item = Notification.model_validate(json.loads(line[5:].strip()))
                    yield _sse("notification", fragment.render(item=item, csrf_token=csrf_token))
                    yield _sse("unread", str(await client.unread_count(caller)))
                elif line.startswith(":"):
                    yield line + "\n\n"  # the service's pings keep proxies from closing the stream
    except ServiceUnavailable as exc:
        log.warning("inbox stream unavailable", extra={"error": str(exc)})
        yield ": the notifications service is unavailable\n\n"
    # Ending here makes the browser's EventSource reconnect: a new ticket, a new short-lived token.


@router.get("/inbox/stream")
async def inbox_stream(request: Request, visitor: PersonDep) -> Response:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    client = clients_of(request).notifications
    events = _relay(
        request,
        client,
        visitor.caller(),
        csrf_token=visitor.csrf_token,
        last_event_id=request.headers.get("last-event-id"),
    )
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)
