"""The notifications service: who must know, in their language, delivered once."""

from __future__ import annotations

from fastapi import FastAPI

from services.notifications import api, consumers
from services.notifications.delivery import run_delivery_worker
from shared.admin import admin
from shared.service import ServiceDefinition, create_service_app
from shared.settings import NotificationsSettings

DEFINITION = ServiceDefinition(
    name="notifications",
    title="Vidnova notifications service",
    routers=(*api.ROUTERS, admin),
    subscriptions=[consumers.SUBSCRIPTION],
    jobs=(run_delivery_worker,),
)


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    """Build the app from settings (the environment by default)."""
    settings = settings or NotificationsSettings()
    settings.webhook_master_secret()  # production refuses to start without WEBHOOK_SIGNING_SECRET
    return create_service_app(DEFINITION, settings)
