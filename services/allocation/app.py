"""The allocation service: donor inventory, matching, proposals, approvals, dispatch, delivery."""

from __future__ import annotations

from fastapi import FastAPI

from services.allocation import consumers
from shared.service import ServiceDefinition, create_service_app
from shared.settings import AllocationSettings

DEFINITION = ServiceDefinition(
    name="allocation",
    title="Vidnova allocation service",
    routers=[],
    subscriptions=[consumers.SUBSCRIPTION],
)


def create_app(settings: AllocationSettings | None = None) -> FastAPI:
    """Build the app from settings (the environment by default)."""
    return create_service_app(DEFINITION, settings or AllocationSettings())
