"""One notification fan-out per consumer batch: the same rows as one event at a time, in event order."""

from __future__ import annotations

import uuid
from collections import Counter
from types import SimpleNamespace
from typing import Any

from sqlmodel import col, select

from services.notifications.consumers import HANDLERS, notify_all
from services.notifications.models import Notification
from shared import processed_events
from shared.events.envelope import CloudEvent, new_event
from shared.events.payloads import AllocationApproved, AllocationDispatched, AllocationProposed, Payload
from shared.processed_events import ConsumedEvent
from tests.factories import allocation_event
from tests.integration.notifications.harness import Harness


def donor_history(donor: str) -> list[CloudEvent]:
    """A lot's proposal, approval and dispatch: the donor hears of all three, others of some."""
    request_id = uuid.uuid4()
    payloads: list[Payload] = [
        allocation_event(AllocationProposed, donor_id=donor, request_id=request_id),
        allocation_event(AllocationApproved, donor_id=donor, request_id=request_id),
        allocation_event(AllocationDispatched, donor_id=donor, request_id=request_id, region="UA-07"),
    ]
    return [new_event(p, source="allocation") for p in payloads]


def consumed(events: list[CloudEvent]) -> list[ConsumedEvent]:
    """The events as one partition's poll brings them to the notifications consumer."""
    run = []
    for offset, event in enumerate(events):
        payload = event.payload()
        record: Any = SimpleNamespace(topic="allocations", partition=0, offset=offset)
        run.append(ConsumedEvent(record, event, payload, HANDLERS[type(payload)], notify_all))
    return run


async def inbox_of(harness: Harness, audience: str) -> list[tuple[int, str, str, str]]:
    """(position, source event, template, title) of an audience's items, in position order."""
    async with harness.db.session() as session:
        rows = await session.exec(
            select(Notification).where(Notification.audience == audience).order_by(col(Notification.seq))
        )
        return [(n.seq, str(n.source_event_id), n.template, n.title) for n in rows.all()]


async def channels_of(harness: Harness, events: list[CloudEvent]) -> list[Counter[str]]:
    return [Counter(d.channel for d in await harness.deliveries_of(e)) for e in events]


async def test_a_batch_writes_what_one_event_at_a_time_writes_in_event_order(harness: Harness) -> None:
    batched, alone = f"donor-{uuid.uuid4().hex[:8]}", f"donor-{uuid.uuid4().hex[:8]}"
    for donor in (batched, alone):  # e-mail about approvals only: the filter applies per event
        async with harness.client(f"{donor}-desk", "donor", donor_id=donor) as client:
            body = {
                "channel": "email",
                "target": f"{donor}@example.org",
                "event_types": ["allocation.approved"],
            }
            assert (await client.post("/v1/subscriptions", json=body)).status_code == 201
    group = f"fan-out-{uuid.uuid4().hex[:6]}"  # not the service's group: its consumer never sees these

    history = donor_history(batched)
    run = consumed([*history, history[0]])  # the proposal redelivered within the same poll
    outcomes = await processed_events.handle_batch(harness.db, group=group, service="test", run=run)
    assert outcomes == ["handled", "handled", "handled", "duplicate"]

    one_by_one = donor_history(alone)
    for single in consumed(one_by_one):
        outcome = await processed_events.handle_once(
            harness.db,
            group=group,
            record=single.record,
            event=single.event,
            payload=single.payload,
            handler=single.handler,
        )
        assert outcome == "handled"

    together, apart = await inbox_of(harness, f"donor:{batched}"), await inbox_of(harness, f"donor:{alone}")
    assert [item[0] for item in together] == [1, 2, 3]  # consecutive positions, in event order
    assert [item[1] for item in together] == [str(e.id) for e in history]
    assert [(seq, template) for seq, _, template, _ in together] == [(s, t) for s, _, t, _ in apart]
    expected = [{"inbox": 2}, {"inbox": 1, "email": 1}, {"inbox": 2}]  # proposal: coordinators too
    assert await channels_of(harness, history) == expected
    assert await channels_of(harness, one_by_one) == expected
    ids = {str(e.id) for e in history + one_by_one}
    published = [
        e["data"]["channel"] for e in await harness.outbox("vidnova.notification.delivered.v1")
        if e["data"]["source_event_id"] in ids
    ]  # fmt: skip
    assert set(published) <= {"email"}  # inbox items publish none (the worker may have sent the e-mails)
