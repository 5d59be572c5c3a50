"""The event contract: envelope, registry, decoding of bad bytes, exported schemas."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.events.envelope import CloudEvent, decode_event, new_event
from shared.events.payloads import (
    AccountInvited,
    AccountLinkIssued,
    AccountPasswordReset,
    InventoryWithdrawn,
    RequestUpdated,
)
from shared.events.registry import EVENT_TYPES, MalformedEvent, UnknownEventType
from shared.events.schemas import render, schema_documents
from shared.observability import bind_correlation_id, reset_correlation_id
from tests.factories import account_link

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events"
SPEC_TYPES = {
    "request.submitted", "request.updated", "request.cancelled", "request.waitlisted", "request.fulfilled",
    "request.status_changed",
    "inventory.registered", "inventory.adjusted", "inventory.withdrawn",
    "allocation.proposed", "allocation.approved", "allocation.rejected", "allocation.expired",
    "allocation.released", "allocation.dispatched", "allocation.delivered",
    "notification.delivered", "notification.failed",
    "account.invited", "account.password_reset",
    # Beyond SPEC §6's list: the donor registry (issue #18; docs/contract-notes.md).
    "donor.registered", "donor.updated", "programme.registered", "programme.updated",
    "donor.statement_issued",
}  # fmt: skip


def updated() -> RequestUpdated:
    return RequestUpdated(
        request_id=uuid.uuid4(), ref="UA63-2026-000001", region="UA-63",
        priority="critical", previous_priority="low", updated_by="coord",
    )  # fmt: skip


def test_every_spec_event_type_is_registered_with_a_versioned_name() -> None:
    assert {t.name for t in EVENT_TYPES.values()} == SPEC_TYPES
    assert all(ce_type == f"vidnova.{t.name}.v{t.version}" for ce_type, t in EVENT_TYPES.items())


def test_envelope_is_cloudevents_1_0_with_correlation() -> None:
    payload = updated()
    token = bind_correlation_id("corr-123")
    try:
        event = new_event(payload, source="requests")
    finally:
        reset_correlation_id(token)
    raw = json.loads(event.encode())
    assert raw["specversion"] == "1.0"
    assert raw["type"] == "vidnova.request.updated.v1"
    assert raw["source"] == "/vidnova/requests"
    assert raw["subject"] == str(payload.request_id)
    assert raw["datacontenttype"] == "application/json"
    assert raw["correlationid"] == "corr-123"
    assert raw["causationid"] is None
    datetime.fromisoformat(raw["time"])


def test_caused_event_inherits_correlation_and_names_its_cause() -> None:
    cause = new_event(updated(), source="requests")
    effect = new_event(
        InventoryWithdrawn(lot_id=uuid.uuid4(), donor_id="jica", withdrawn_quantity=1),
        source="x",
        caused_by=cause,
    )
    assert effect.correlationid == cause.correlationid
    assert effect.causationid == str(cause.id)
    assert effect.key == effect.subject.encode()


def test_round_trip_gives_the_typed_payload_back() -> None:
    payload = updated()
    envelope, decoded = decode_event(new_event(payload, source="requests").encode())
    assert isinstance(envelope, CloudEvent)
    assert decoded == payload


@pytest.mark.parametrize("raw", [None, b"", b"{not json", b'{"specversion": "1.0"}', "ü".encode("latin-1")])
def test_bytes_that_are_not_an_envelope_are_malformed(raw: bytes | None) -> None:
    with pytest.raises(MalformedEvent):
        decode_event(raw)


def test_unknown_type_is_reported_as_such() -> None:
    event = new_event(updated(), source="requests").model_copy(
        update={"type": "vidnova.request.teleported.v1"}
    )
    with pytest.raises(UnknownEventType):
        decode_event(event.encode())


def test_payload_failing_its_model_is_malformed() -> None:
    event = new_event(updated(), source="requests").model_copy(update={"data": {"request_id": "x"}})
    with pytest.raises(MalformedEvent):
        decode_event(event.encode())


def test_exported_schemas_match_the_models() -> None:
    """Fails when a payload changes without `make schemas` (docs/events/ is the published contract)."""
    expected = {name: render(doc) for name, doc in schema_documents().items()}
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in DOCS.glob("*.json")}
    assert sorted(on_disk) == sorted(expected), "run `make schemas`"
    for name, text in expected.items():
        assert on_disk[name] == text, f"docs/events/{name} drifted from the model; run `make schemas`"


def test_event_time_is_timezone_aware() -> None:
    assert new_event(updated(), source="r").time.tzinfo == UTC


@pytest.mark.parametrize("event_class", [AccountInvited, AccountPasswordReset])
def test_account_events_go_to_the_accounts_stream_keyed_by_account(
    event_class: type[AccountLinkIssued],
) -> None:
    payload = account_link(event_class)
    event = new_event(payload, source="console")
    assert event.type in {"vidnova.account.invited.v1", "vidnova.account.password_reset.v1"}
    assert EVENT_TYPES[event.type].stream == "accounts"
    assert event.subject == str(payload.account_id)
    assert decode_event(event.encode())[1] == payload


@pytest.mark.parametrize(
    "override",
    [
        {"link": "/password/abc"},
        {"link": "javascript:alert(1)"},
        {"link": "ftp://console.example/x"},
        {"link": "https:///no-host"},
        {"expires_at": datetime(2026, 12, 4, 12, 0)},
        {"locale": "de"},
        {"display_name": ""},
        {"display_name": "x" * 201},
        {"email": "not-an-address"},
    ],
    ids=lambda o: next(iter(o)),
)
def test_account_event_fields_are_checked(override: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        account_link(AccountInvited, **override)


def test_the_one_time_link_stays_out_of_the_payload_repr() -> None:
    payload = account_link(AccountInvited)
    assert payload.link not in repr(payload)
    assert payload.link not in str(payload)
