"""Run one service in the foreground under uvicorn."""

from __future__ import annotations

import importlib

import uvicorn
from fastapi import FastAPI

from services.allocation.settings import AllocationSettings
from services.console.settings import ConsoleSettings
from services.notifications.settings import NotificationsSettings
from services.requests.settings import RequestsSettings
from shared.settings import ServiceName, ServiceSettings

SETTINGS_CLASSES: dict[ServiceName, type[ServiceSettings]] = {
    "console": ConsoleSettings,
    "requests": RequestsSettings,
    "allocation": AllocationSettings,
    "notifications": NotificationsSettings,
}


def settings_for(service: ServiceName) -> ServiceSettings:
    """Read one service's settings from the environment."""
    return SETTINGS_CLASSES[service]()


def build_app(name: ServiceName, settings: ServiceSettings | None = None) -> FastAPI:
    """The FastAPI app of the named service."""
    module = importlib.import_module(f"services.{name}.app")
    app: FastAPI = module.create_app(settings or settings_for(name))
    return app


SERVER_KEEP_ALIVE_S = 75


def serve(name: ServiceName) -> None:
    """Serve until SIGTERM/SIGINT; uvicorn then runs the lifespan shutdown, which drains and commits."""
    settings = settings_for(name)
    uvicorn.run(
        build_app(name, settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        # Idle connections stay open longer than any client of ours keeps them (the console: 30 s). With
        # uvicorn's 5 s, equal to httpx's default, a client could reuse a connection the server was closing
        # that instant and get "Server disconnected" (the console then called the service unavailable).
        timeout_keep_alive=SERVER_KEEP_ALIVE_S,
    )
