"""An event continues its cause's trace, also when a batch handler runs under several events' spans.

Spans are exported to a real OTLP/HTTP receiver on loopback; the envelopes are read directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from uuid import uuid4

import pytest

from shared import tracing
from shared.events.envelope import CloudEvent, new_event
from tests.factories import request_submitted
from tests.support.otlp import OtlpReceiver


@pytest.fixture
def traced() -> Iterator[None]:
    receiver = OtlpReceiver()
    receiver.start()
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
    try:
        assert tracing.configure_tracing(service="test", endpoint=receiver.endpoint)
        yield
    finally:
        tracing.shutdown_tracing()
        os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        receiver.stop()


def submitted_in_its_own_trace() -> CloudEvent:
    payload = request_submitted()
    event = new_event(payload, source="requests")
    return event.model_copy(update={"traceparent": f"00-{uuid4().hex}-{uuid4().hex[:16]}-01"})


def trace_of(traceparent: str | None) -> str:
    assert traceparent is not None
    return traceparent.split("-")[1]


def test_events_caused_under_nested_batch_spans_stay_in_their_causes_traces(traced: None) -> None:
    first, second = submitted_in_its_own_trace(), submitted_in_its_own_trace()
    with (
        tracing.consume_span("vidnova.requests", first, group="allocation"),
        tracing.consume_span("vidnova.requests", second, group="allocation"),
    ):
        for_first = new_event(first.payload(), source="allocation", caused_by=first)
        for_second = new_event(second.payload(), source="allocation", caused_by=second)
        current = tracing.current_traceparent()
    assert trace_of(for_first.traceparent) == trace_of(first.traceparent)
    assert for_first.traceparent == first.traceparent  # the current span is another trace's: the cause's own
    assert trace_of(for_second.traceparent) == trace_of(second.traceparent)
    assert for_second.traceparent == current  # under its cause's consume span, as a child of it


def test_without_a_cause_an_event_is_a_child_of_the_current_span(traced: None) -> None:
    with tracing.span("POST /v1/requests", kind=tracing.SpanKind.SERVER):
        event = new_event(request_submitted(), source="requests")
        assert event.traceparent == tracing.current_traceparent() is not None
