"""The person's e-mail and webhook subscriptions, through the notifications API."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from services.console import domain
from services.console.api.frame import CsrfChecked, PersonDep, Visitor, clients_of, redirect, render
from services.console.clients import ServiceRefused

router = APIRouter(include_in_schema=False)
CHANNELS = {"email": domain.N_("E-mail"), "webhook": domain.N_("Webhook")}
MESSAGES = {
    "added": domain.N_("The subscription is added."),
    "deleted": domain.N_("The subscription is deleted."),
}
TARGET_REFUSED = domain.N_(
    "The address was refused: an e-mail address, or a public https:// URL for a webhook."
)


async def _page(
    request: Request,
    visitor: Visitor,
    *,
    message: str | None = None,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    secret: str | None = None,
) -> Response:
    items = await clients_of(request).notifications.subscriptions(visitor.caller())
    context = {
        "items": items,
        "channels": CHANNELS,
        "message": message,
        "error": error,
        "typed": typed or {"channel": "email", "target": "", "locale": visitor.locale},
        "secret": secret,
    }
    return await render(request, "subscriptions.html", context, status_code=422 if error else 200)


@router.get("/subscriptions")
async def subscriptions_page(request: Request, visitor: PersonDep, done: str = "") -> Response:
    return await _page(request, visitor, message=MESSAGES.get(done))


@router.post("/subscriptions", dependencies=[CsrfChecked])
async def add_subscription(
    request: Request,
    visitor: PersonDep,
    channel: Annotated[str, Form(max_length=16)],
    target: Annotated[str, Form(max_length=2048)],
    locale: Annotated[str, Form(max_length=2)] = "uk",
) -> Response:
    typed = {"channel": channel, "target": target, "locale": locale}
    body = {"channel": channel, "target": target.strip(), "locale": "en" if locale == "en" else "uk"}
    try:
        created = await clients_of(request).notifications.subscribe(visitor.caller(), body)
    except ServiceRefused as exc:
        if exc.status != 422:
            raise
        return await _page(request, visitor, error=TARGET_REFUSED, typed=typed)
    if created.secret:  # a webhook's signing key is shown once, now
        return await _page(request, visitor, message=MESSAGES["added"], secret=created.secret)
    return redirect("/subscriptions?done=added")


@router.post("/subscriptions/{subscription_id}/delete", dependencies=[CsrfChecked])
async def delete_subscription(request: Request, visitor: PersonDep, subscription_id: UUID) -> Response:
    await clients_of(request).notifications.unsubscribe(visitor.caller(), subscription_id)
    return redirect("/subscriptions?done=deleted")
