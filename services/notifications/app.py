"""The notifications service: who must know, in their language, delivered once."""

from __future__ import annotations

from fastapi import FastAPI

from services.notifications import api, consumers
from services.notifications.delivery import delivery_job
from services.notifications.models import INBOX_WRITTEN, finished_deliveries
from services.notifications.settings import NotificationsSettings
from services.notifications.stream import InboxBell, StreamSlots
from shared.admin import admin
from shared.service import Runtime, ServiceDefinition, create_service_app


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    """Build the app from settings (the environment by default)."""
    settings = settings or NotificationsSettings()
    settings.webhook_master_secret()  # production refuses to start without WEBHOOK_SIGNING_SECRET

    def ring_inbox_bell(app: FastAPI, runtime: Runtime) -> None:
        """One bell per process, rung after each local commit that wrote inbox items and by a shared poll."""
        bell = InboxBell(runtime.db, poll_s=settings.sse_poll_interval_s)
        runtime.db.on_news(INBOX_WRITTEN, bell.ring)
        app.state.inbox_bell = bell

    definition = ServiceDefinition(
        name="notifications",
        title="Vidnova notifications service",
        routers=(*api.ROUTERS, admin),
        subscriptions=[consumers.subscription()],
        jobs=(delivery_job(settings),),
        on_start=(ring_inbox_bell,),
        retained=(finished_deliveries,),
    )
    app = create_service_app(definition, settings)
    app.state.notifications_settings = settings
    app.state.stream_slots = StreamSlots(
        per_person=settings.sse_max_streams_per_person, total=settings.sse_max_streams
    )
    return app
