"""The ``actor`` envelope attribute (SPEC §14.7): who made a change, and events from before it existed."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from services.allocation.outcomes import MATCHING, matching_actor
from shared.actor import acting_as, bind_actor, current_actor, is_system_actor, system_actor
from shared.events.envelope import CloudEvent, decode_event, new_event
from shared.events.payloads import InventoryWithdrawn, RequestSubmitted

DATA = Path(__file__).parent / "data"


def withdrawn() -> InventoryWithdrawn:
    return InventoryWithdrawn(lot_id=uuid.uuid4(), donor_id="jica", withdrawn_quantity=1)


def test_an_event_stored_before_the_actor_existed_still_decodes() -> None:
    raw = (DATA / "request_submitted_before_actor.json").read_bytes()
    assert "actor" not in json.loads(raw)
    envelope, payload = decode_event(raw)
    assert envelope.actor is None
    assert isinstance(payload, RequestSubmitted)
    assert payload.created_by == "kharkiv-admin"


def test_the_actor_survives_encoding_and_decoding() -> None:
    event = new_event(withdrawn(), source="allocation", actor="jica-desk")
    assert json.loads(event.encode())["actor"] == "jica-desk"
    envelope, _ = decode_event(event.encode())
    assert envelope.actor == "jica-desk"
    assert envelope == event


def test_the_bound_actor_names_the_events_built_while_it_is_bound() -> None:
    with acting_as("coord-1"):
        assert new_event(withdrawn(), source="allocation").actor == "coord-1"
    assert current_actor() is None


def test_an_explicit_actor_overrides_the_bound_one() -> None:
    with acting_as("coord-1"):
        event = new_event(withdrawn(), source="notifications", actor=system_actor("notifications"))
    assert event.actor == "system:notifications"


def test_with_nothing_bound_the_building_service_is_the_actor() -> None:
    assert new_event(withdrawn(), source="requests").actor == "system:requests"


def test_acting_as_none_hides_a_person_bound_outside() -> None:
    # The dead-letter replay: the admin's request re-runs a consumer, whose events are not the admin's.
    with acting_as("ops-1"), acting_as(None):
        assert new_event(withdrawn(), source="allocation").actor == "system:allocation"


def test_an_effect_does_not_inherit_its_causes_actor() -> None:
    cause = new_event(withdrawn(), source="requests", actor="kharkiv-admin")
    effect = new_event(withdrawn(), source="allocation", caused_by=cause)
    assert (effect.causationid, effect.actor) == (str(cause.id), "system:allocation")


async def test_bind_actor_lasts_for_the_task_that_bound_it() -> None:
    async def request() -> str | None:
        bind_actor("kharkiv-admin")  # as the auth dependency does, inside the request's own task
        return new_event(withdrawn(), source="allocation").actor

    assert await asyncio.create_task(request()) == "kharkiv-admin"
    assert current_actor() is None


@pytest.mark.parametrize(
    ("bound", "expected"),
    [(None, MATCHING), ("system:expiry", MATCHING), ("system:allocation", MATCHING), ("coord-1", "coord-1")],
)
def test_matching_is_a_persons_doing_only_inside_their_request(bound: str | None, expected: str) -> None:
    with acting_as(bound):
        assert matching_actor() == expected


def test_system_actors_are_told_from_token_subjects() -> None:
    assert is_system_actor(system_actor("expiry"))
    assert not is_system_actor("kharkiv-admin")


def test_the_envelope_schema_documents_the_actor_as_optional() -> None:
    schema = CloudEvent.model_json_schema()
    assert "actor" in schema["properties"]
    assert "actor" not in schema["required"]
