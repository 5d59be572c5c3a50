"""The routing table: for each event type of the contract, who is told, with which template."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from services.notifications.routing import RULES, audience_of, event_names_for, notices_for
from shared.auth import Principal
from shared.events.payloads import (
    AccountInvited,
    AccountPasswordReset,
    AllocationApproved,
    AllocationDelivered,
    AllocationDispatched,
    AllocationExpired,
    AllocationProposed,
    AllocationRejected,
    AllocationReleased,
    DonorRegistered,
    DonorUpdated,
    InventoryAdjusted,
    InventoryRegistered,
    InventoryWithdrawn,
    Location,
    Money,
    NotificationDelivered,
    NotificationFailed,
    Payload,
    Period,
    ProgrammeRegistered,
    ProgrammeUpdated,
    RequestCancelled,
    RequestFulfilled,
    RequestUpdated,
)
from shared.events.registry import EVENT_TYPES
from tests.factories import (
    account_link,
    allocation_event,
    donor_statement,
    request_status_changed,
    request_submitted,
    request_waitlisted,
)

LOT = uuid.uuid4()
OUTCOME = {
    "notification_id": uuid.uuid4(),
    "source_event_id": uuid.uuid4(),
    "source_event_type": "vidnova.request.waitlisted.v1",
    "recipient": "coordinators",
    "channel": "inbox",
    "attempts": 1,
}

# (payload, {(audience, template)}) — the whole of SPEC §5 "Who is told", one row per case.
DONOR = {"donor_id": "jica", "name_en": "JICA", "name_uk": "JICA", "kind": "government", "country": "JP"}
PROGRAMME = {
    "programme_id": "jica-erp-2", "donor_id": "jica", "donor_name_en": "JICA", "donor_name_uk": "JICA",
    "name_en": "Emergency Recovery Programme, phase 2", "name_uk": "Програма екстреного відновлення, фаза 2",
    "period": Period(start=date(2024, 3, 1), end=date(2026, 12, 31)),
    "budget": Money(currency="JPY", amount=Decimal("15000000000")),
}  # fmt: skip
TABLE: list[tuple[str, Payload, set[tuple[str, str]]]] = [
    (
        "critical request submitted",
        request_submitted(priority="critical"),
        {("coordinators", "critical_request")},
    ),
    ("high request submitted", request_submitted(priority="high"), set()),
    ("request waitlisted", request_waitlisted(), {("coordinators", "request_waitlisted")}),
    (
        "status change in Odesa",
        request_status_changed(region="UA-51"),
        {("region:UA-51", "request_status_changed")},
    ),
    (
        "proposal of UNDP's lot",
        allocation_event(AllocationProposed, donor_id="undp"),
        {("coordinators", "proposal_awaiting_approval"), ("donor:undp", "lot_proposed")},
    ),
    ("approval", allocation_event(AllocationApproved), {("donor:jica", "allocation_approved")}),
    (
        "dispatch",
        allocation_event(AllocationDispatched),
        {("region:UA-63", "shipment_on_its_way"), ("donor:jica", "dispatch_recorded")},
    ),
    (
        "delivery",
        allocation_event(AllocationDelivered),
        {("coordinators", "delivery_recorded"), ("donor:jica", "fulfilment_notice")},
    ),
    (
        "delivery with rejected units",
        allocation_event(AllocationDelivered, received_quantity=1, rejected_quantity=1, note="cracked"),
        {("coordinators", "delivery_recorded"), ("donor:jica", "fulfilment_notice")},
    ),
    ("release after approval", allocation_event(AllocationReleased), {("donor:jica", "allocation_released")}),
    ("rejected proposal", allocation_event(AllocationRejected), set()),
    ("expired proposal", allocation_event(AllocationExpired), set()),
    (
        "priority change",
        RequestUpdated(
            request_id=uuid.uuid4(), ref="UA63-2026-000001", region="UA-63",
            priority="critical", previous_priority="low", updated_by="coord-1",
        ),
        set(),
    ),
    (
        "cancellation (region admins hear of it as a status change)",
        RequestCancelled(
            request_id=uuid.uuid4(), ref="UA63-2026-000001", region="UA-63", status="cancelled",
            reason="no longer needed", delivered_quantity=0, cancelled_by="kharkiv-admin",
        ),
        set(),
    ),
    (
        "fulfilment (the donor's notice is the delivery)",
        RequestFulfilled(
            request_id=uuid.uuid4(), ref="UA63-2026-000001", region="UA-63", delivered_quantity=2
        ),
        set(),
    ),
    (
        "lot registered",
        InventoryRegistered(
            lot_id=LOT, donor_id="jica", category="generator", specs={"power_kw": 500}, quantity=3,
            location=Location(region="UA-46", site="Lviv depot"), available_from=date(2026, 11, 1),
            eligible_regions=None,
        ),
        set(),
    ),
    ("lot adjusted", InventoryAdjusted(lot_id=LOT, donor_id="jica", quantity=2, previous_quantity=3), set()),
    ("lot withdrawn", InventoryWithdrawn(lot_id=LOT, donor_id="jica", withdrawn_quantity=2), set()),
    # The donor registry's events tell no one (notices carry the donor's names from allocation events).
    ("donor registered", DonorRegistered(**DONOR), set()),
    ("donor updated", DonorUpdated(**DONOR, changed=["name_en"]), set()),
    ("programme registered", ProgrammeRegistered(**PROGRAMME), set()),
    ("programme updated", ProgrammeUpdated(**PROGRAMME, changed=["budget"]), set()),
    # A donor's monthly statement goes to that donor (its e-mail subscribers get the PDF attached).
    ("monthly statement", donor_statement(donor_id="undp"), {("donor:undp", "monthly_statement")}),
    ("notification delivered", NotificationDelivered(**OUTCOME), set()),
    ("notification failed", NotificationFailed(**OUTCOME, error="HTTP 500"), set()),
    # Account links go to the one person named in the event, never to an audience's inbox.
    ("account invited", account_link(AccountInvited), set()),
    ("password reset", account_link(AccountPasswordReset), set()),
]  # fmt: skip


@pytest.mark.parametrize(("case", "payload", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_routing_table(case: str, payload: Payload, expected: set[tuple[str, str]]) -> None:
    notices = notices_for(payload)
    assert {(n.audience, n.template) for n in notices} == expected
    assert all(n.payload is payload for n in notices)


def test_the_table_covers_every_event_type_of_the_contract() -> None:
    assert {type(payload) for _, payload, _ in TABLE} == {t.payload for t in EVENT_TYPES.values()}


@pytest.mark.parametrize(("case", "payload", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_an_event_reaches_each_audience_at_most_once(case: str, payload: Payload, expected: object) -> None:
    audiences = [n.audience for n in notices_for(payload)]
    assert len(audiences) == len(set(audiences))  # one inbox item per (event, audience)


def test_every_rule_addresses_an_audience_its_event_names() -> None:
    needed = {"region": "region", "donor": "donor_id"}
    for rule in RULES:
        if rule.to in needed:
            assert needed[rule.to] in rule.event.model_fields, rule


@pytest.mark.parametrize(
    ("principal", "audience"),
    [
        (Principal(sub="c", role="coordinator"), "coordinators"),
        (Principal(sub="a", role="admin"), "coordinators"),
        (Principal(sub="k", role="region_admin", region="UA-63"), "region:UA-63"),
        (Principal(sub="j", role="donor", donor_id="jica"), "donor:jica"),
    ],
)
def test_each_caller_reads_the_inbox_of_its_role_and_scope(principal: Principal, audience: str) -> None:
    assert audience_of(principal) == audience


def test_event_types_a_subscription_may_name_per_audience() -> None:
    assert event_names_for("donor") == [
        "allocation.proposed", "allocation.approved", "allocation.dispatched", "allocation.delivered",
        "allocation.released", "donor.statement_issued",
    ]  # fmt: skip
    assert event_names_for("region") == ["request.status_changed", "allocation.dispatched"]
    assert event_names_for("coordinators") == [
        "request.submitted", "allocation.proposed", "request.waitlisted", "allocation.delivered",
    ]  # fmt: skip
