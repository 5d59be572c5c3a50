"""Run one service in the foreground under uvicorn."""

from __future__ import annotations

import importlib

import uvicorn
from fastapi import FastAPI

from shared.settings import ServiceName, ServiceSettings, settings_for


def settings_of(name: ServiceName) -> ServiceSettings:
    """Read one service's settings from the environment (the console's class lives in its package)."""
    if name == "console":
        from services.console.settings import ConsoleSettings

        return ConsoleSettings()
    return settings_for(name)


def build_app(name: ServiceName, settings: ServiceSettings | None = None) -> FastAPI:
    """The FastAPI app of the named service."""
    module = importlib.import_module(f"services.{name}.app")
    app: FastAPI = module.create_app(settings or settings_of(name))
    return app


def serve(name: ServiceName) -> None:
    """Serve until SIGTERM/SIGINT; uvicorn then runs the lifespan shutdown, which drains and commits."""
    settings = settings_of(name)
    uvicorn.run(
        build_app(name, settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
