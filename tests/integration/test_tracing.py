"""One trace from `POST /v1/requests` to the coordinator's inbox item, across three services."""

from __future__ import annotations

from tests.conftest import Infra
from tests.factories import request_body
from tests.support.otlp import OtlpReceiver, ReceivedSpan
from tests.support.polling import eventually
from tests.support.stack import make_stack

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP span kinds
WAITLISTED = "vidnova.request.waitlisted.v1"


def _chain(spans: list[ReceivedSpan], trace_id: str) -> list[tuple[str, int, str]]:
    return sorted(
        (s.service, s.kind, str(s.attributes.get("cloudevents.event_type", s.name)))
        for s in spans
        if s.trace_id == trace_id
    )


async def test_one_trace_runs_from_the_post_to_the_inbox_item(infra: Infra) -> None:
    receiver = OtlpReceiver()
    receiver.start()
    stack = await make_stack(
        broker=infra.broker,
        database=infra.database,
        tmp_dir=infra.tmp_dir,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    try:
        async with stack.client("requests", "kharkiv") as client:
            created = await client.post("/v1/requests", json=request_body(priority="high"))
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]

        async def inbox_item() -> dict | None:
            async with stack.client("notifications", "coordinator") as client:
                items = (await client.get("/v1/notifications", params={"limit": 200})).json()["items"]
            return next((i for i in items if i["subject_id"] == request_id and i["type"] == WAITLISTED), None)

        item = await eventually(inbox_item, timeout_s=60, what="the coordinator's inbox item")

        def the_trace(spans: list[ReceivedSpan]) -> str | None:
            post = [s for s in spans if s.kind == SERVER and s.name == "POST /v1/requests"]
            consumed = [
                s
                for s in spans
                # The notifications service's span: requests consumes the same event too, and its span
                # can be exported first.
                if s.kind == CONSUMER
                and s.service == "vidnova-notifications"
                and s.attributes.get("cloudevents.event_id") == item["source_event_id"]
            ]
            if not consumed:
                return None
            return consumed[0].trace_id if any(p.trace_id == consumed[0].trace_id for p in post) else None

        expected = {
            ("vidnova-requests", SERVER, "POST /v1/requests"),
            ("vidnova-requests", PRODUCER, "vidnova.request.submitted.v1"),
            ("vidnova-allocation", CONSUMER, "vidnova.request.submitted.v1"),
            ("vidnova-allocation", PRODUCER, WAITLISTED),
            ("vidnova-notifications", CONSUMER, WAITLISTED),
        }

        def whole(spans: list[ReceivedSpan]) -> bool:
            # Each process exports on its own schedule: a hop's span may arrive after the next hop's.
            trace = the_trace(spans)
            return trace is not None and expected <= set(_chain(spans, trace))

        spans = await eventually(
            lambda: _async(receiver.snapshot()),
            until=whole,
            timeout_s=30,
            what="every hop's span in the POST's trace, up to the inbox item's consume span",
        )
        chain = _chain(spans, the_trace(spans) or "")
        assert expected <= set(chain), chain
        # Parent links hold the chain together: every span but the POST has its parent in the trace.
        members = [s for s in spans if s.trace_id == the_trace(spans)]
        ids = {s.span_id for s in members}
        assert all(s.parent_span_id in ids for s in members if s.kind != SERVER), chain
    finally:
        stack.stop()
        receiver.stop()


async def _async(value: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return value
