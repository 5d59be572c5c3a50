"""The requests service: intake and the requester's view of every request."""

from __future__ import annotations

from fastapi import FastAPI

from services.requests import api, consumers
from services.requests.settings import RequestsSettings
from shared.admin import admin
from shared.service import ServiceDefinition, create_service_app


def create_app(settings: RequestsSettings | None = None) -> FastAPI:
    """Build the app from settings (the environment by default)."""
    definition = ServiceDefinition(
        name="requests",
        title="Vidnova requests service",
        routers=[api.router, admin],
        subscriptions=[consumers.subscription()],
    )
    return create_service_app(definition, settings or RequestsSettings())
