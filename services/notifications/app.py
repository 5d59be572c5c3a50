"""The notifications service: who must know, in their language, delivered once."""

from __future__ import annotations

from fastapi import FastAPI

from services.notifications import api, consumers
from shared.service import ServiceDefinition, create_service_app
from shared.settings import NotificationsSettings

DEFINITION = ServiceDefinition(
    name="notifications",
    title="Vidnova notifications service",
    routers=[api.router],
    subscriptions=[consumers.SUBSCRIPTION],
)


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    """Build the app from settings (the environment by default)."""
    return create_service_app(DEFINITION, settings or NotificationsSettings())
