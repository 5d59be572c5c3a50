"""OpenTelemetry traces: HTTP, the outbox relay's publishing and consuming, one trace per causal chain.

The W3C trace context travels inside each event as the CloudEvents distributed-tracing extension
(``traceparent``), written into the envelope — and so into the outbox row — in the transaction that
stages the event. The relay's publish span and the consumer's process span continue it, and the
events a handler emits carry the consumer's span on, so one trace runs from ``POST /v1/requests`` to
the inbox item it ends in. Exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set;
otherwise nothing is set up and every helper here returns at its first line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, StatusCode

__all__ = ["SpanKind", "configure_tracing", "continuing", "current_traceparent", "span", "tracing_enabled"]

log = logging.getLogger(__name__)

_tracer: trace.Tracer | None = None
_provider: Any = None


def configure_tracing(*, service: str, endpoint: str | None) -> bool:
    """Export spans over OTLP/HTTP to ``endpoint`` (the OTEL_* variables tune it); off when None."""
    global _tracer, _provider
    if not endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"vidnova-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _provider = provider
    _tracer = provider.get_tracer("vidnova")
    log.info("tracing on", extra={"otlp_endpoint": endpoint})
    return True


def shutdown_tracing() -> None:
    """Flush and stop the exporter (the service is stopping)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer, _provider = None, None


def tracing_enabled() -> bool:
    """Whether spans are recorded in this process."""
    return _tracer is not None


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, None when tracing is off or no span is active."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def continuing(cause: str | None) -> str | None:
    """The ``traceparent`` of an event caused by one that carried ``cause``: it continues the cause's trace.

    Under the current span when that span is in the cause's trace (the consumer's span of the cause);
    the cause's own ``traceparent`` when the current span belongs to another trace, as when a batch
    handler handles several events under their nested spans; the current span's when there is no cause.
    """
    current = current_traceparent()
    if cause is None or current is None:
        return current or cause
    return current if _trace_id(current) == _trace_id(cause) else cause


def _trace_id(traceparent: str) -> str:
    return (
        traceparent.split("-")[1] if traceparent.count("-") == 3 else traceparent
    )  # W3C: ver-trace-span-flags


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind,
    traceparent: str | None = None,
    attributes: Mapping[str, str | int] | None = None,
) -> Iterator[Span | None]:
    """A span, child of ``traceparent`` when given (else of the current span); None when tracing is off."""
    if _tracer is None:
        yield None
        return
    context = propagate.extract({"traceparent": traceparent}) if traceparent else None
    with _tracer.start_as_current_span(name, context=context, kind=kind, attributes=attributes) as current:
        yield current


def consume_span(topic: str, event: Any, *, group: str) -> Any:
    """The consumer's span for one event, continuing the trace its envelope carries."""
    if _tracer is None:
        return nullcontext()
    attributes = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.consumer.group.name": group,
        "cloudevents.event_id": str(event.id),
        "cloudevents.event_type": event.type,
    }
    return span(
        f"{topic} process", kind=SpanKind.CONSUMER, traceparent=event.traceparent, attributes=attributes
    )


def record_status(current: Span | None, *, method: str, route: str, http_status: int) -> None:
    """Name an HTTP server span after its route template and record the status it answered."""
    if current is None:
        return
    current.update_name(f"{method} {route}")
    current.set_attribute("http.request.method", method)
    current.set_attribute("http.route", route)
    current.set_attribute("http.response.status_code", http_status)
    if http_status >= 500:
        current.set_status(StatusCode.ERROR)


def incoming_traceparent(headers: Mapping[bytes, bytes]) -> str | None:
    """The ``traceparent`` request header, if a caller sent one."""
    if _tracer is None:
        return None
    value = headers.get(b"traceparent")
    return value.decode("latin-1") if value else None
