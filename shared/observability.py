"""Correlation ids, JSON logs and Prometheus metrics shared by every service."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from shared.redaction import redact

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
CORRELATION_HEADER = "X-Correlation-ID"

HTTP_REQUESTS = Counter(
    "vidnova_http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "vidnova_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)
EVENTS_PUBLISHED = Counter("vidnova_outbox_published_total", "Outbox events published", ["service"])
OUTBOX_PENDING = Gauge("vidnova_outbox_pending", "Outbox rows not yet published", ["service"])
EVENTS_CONSUMED = Counter(
    "vidnova_events_consumed_total",
    "Events handled by consumers, by consumer group (a service may read one event in several groups)",
    ["service", "group", "type", "outcome"],
)
EVENTS_DEAD_LETTERED = Counter(
    "vidnova_events_dead_lettered_total", "Messages sent to a dead-letter topic", ["service", "topic"]
)
HANDLER_LATENCY = Histogram("vidnova_event_handler_seconds", "Event handling time", ["service", "type"])


def current_correlation_id() -> str | None:
    """The correlation id of the HTTP request or event being handled, if any."""
    return _correlation_id.get()


def bind_correlation_id(value: str | None) -> object:
    """Set the correlation id for the current context; returns a token for ``reset_correlation_id``."""
    return _correlation_id.set(value)


def reset_correlation_id(token: object) -> None:
    """Restore the correlation id bound before ``bind_correlation_id``."""
    _correlation_id.reset(token)  # type: ignore[arg-type]


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the correlation id and any ``extra`` fields."""

    _RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        correlation = current_correlation_id()
        if correlation:
            entry["correlation_id"] = correlation
        entry.update({k: v for k, v in vars(record).items() if k not in self._RESERVED})
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(*, service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Route all logging to stderr, as JSON lines or plain text."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
