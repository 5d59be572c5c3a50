"""The requests service: intake and the requester's view of every request."""

from __future__ import annotations

from fastapi import FastAPI

from services.requests import api, consumers
from shared.admin import admin
from shared.service import ServiceDefinition, create_service_app
from shared.settings import RequestsSettings

DEFINITION = ServiceDefinition(
    name="requests",
    title="Vidnova requests service",
    routers=[api.router, admin],
    subscriptions=[consumers.SUBSCRIPTION],
)


def create_app(settings: RequestsSettings | None = None) -> FastAPI:
    """Build the app from settings (the environment by default)."""
    return create_service_app(DEFINITION, settings or RequestsSettings())
