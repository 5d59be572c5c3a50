"""Messages in English and Ukrainian: the texts themselves, plural forms, region names, language choice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notifications.rendering import LOCALES, Locale, negotiate_locale, plural_index, render
from services.notifications.routing import RULES, Notice, Rule, notices_for
from shared.events.payloads import (
    AllocationApproved,
    AllocationDelivered,
    AllocationDispatched,
    AllocationProposed,
    AllocationReleased,
    Payload,
    ReasonFacts,
)
from shared.reasons import describe_reason
from tests.factories import allocation_event, request_status_changed, request_submitted, request_waitlisted

UK_UNITS = ("одиниця", "одиниці", "одиниць")


def notice(payload: Payload, template: str) -> Notice:
    return next(n for n in notices_for(payload) if n.template == template)


@pytest.mark.parametrize(
    ("n", "form"),
    [
        (0, "одиниць"), (1, "одиниця"), (2, "одиниці"), (3, "одиниці"), (4, "одиниці"), (5, "одиниць"),
        (11, "одиниць"), (12, "одиниць"), (14, "одиниць"), (21, "одиниця"), (22, "одиниці"),
        (25, "одиниць"), (101, "одиниця"), (111, "одиниць"), (112, "одиниць"), (1000, "одиниць"),
    ],
)  # fmt: skip
def test_ukrainian_plural_forms(n: int, form: str) -> None:
    assert UK_UNITS[plural_index(n, "uk")] == form
    message = render(notice(request_waitlisted(unmet_quantity=n or 1), "request_waitlisted"), "uk")
    if n:
        assert f"Незадоволена потреба: {n} {form}." in message.body


@pytest.mark.parametrize(("n", "word"), [(1, "unit"), (2, "units"), (11, "units"), (21, "units")])
def test_english_plural_forms(n: int, word: str) -> None:
    message = render(notice(request_waitlisted(unmet_quantity=n), "request_waitlisted"), "en")
    assert message.title == f"UA63-2026-000001 waitlisted: {n} {word} unmet"


def test_fulfilment_notice_in_ukrainian_names_everything_the_donor_needs() -> None:
    delivered = allocation_event(
        AllocationDelivered, quantity=24, received_quantity=21, rejected_quantity=3,
        note="пошкоджено корпус", serials=["JP-001", "JP-002"], waybill="WB-7",
    )  # fmt: skip
    message = render(notice(delivered, "fulfilment_notice"), "uk")
    assert message.title == (
        "Повідомлення про виконання UA63-2026-000001: Харківська область, отримано: 21 одиниця"
    )
    lines = message.body.splitlines()
    assert lines[0] == (
        "Ваше обладнання доставлено: «Водоканал, насосна станція №2» (водоканал), Харків, "
        "Харківська область, заявка UA63-2026-000001."
    )
    assert lines[1].startswith("Отримано: 21 одиниця (генератор; розподіл ")
    assert lines[2] == "Відхилено під час приймання: 3 одиниці — пошкоджено корпус."
    assert lines[3] == "Серійні номери: JP-001, JP-002."
    assert lines[4] == "Накладна: WB-7."
    assert lines[5] == "Дякуємо за вашу підтримку."


def test_fulfilment_notice_in_english() -> None:
    delivered = allocation_event(
        AllocationDelivered, received_quantity=1, rejected_quantity=1, note="cracked"
    )
    message = render(notice(delivered, "fulfilment_notice"), "en")
    assert message.title == "Fulfilment notice UA63-2026-000001: 1 unit received in Kharkiv Oblast"
    assert "in Харків, Kharkiv Oblast, for request UA63-2026-000001." in message.body
    assert "Received: 1 unit of generator" in message.body
    assert "Rejected on delivery: 1 unit — cracked." in message.body


def test_region_names_follow_the_language() -> None:
    submitted = request_submitted(region="UA-51", settlement="Одеса", ref="UA51-2026-000009", quantity=5)
    uk = render(notice(submitted, "critical_request"), "uk")
    en = render(notice(submitted, "critical_request"), "en")
    assert uk.title == "Критична заявка UA51-2026-000009: генератор, 5 одиниць — Одеська область"
    assert uk.body.startswith("Одеська область, Одеса: «Водоканал, насосна станція №2» (водоканал).")
    assert "Потрібно: генератор, 5 одиниць, до 15.12.2026." in uk.body
    assert en.title == "Critical request UA51-2026-000009: 5 units of generator for Odesa Oblast"
    assert "by 15 December 2026" in en.body


def test_status_change_in_ukrainian() -> None:
    message = render(notice(request_status_changed(), "request_status_changed"), "uk")
    assert message.title == "Статус заявки UA63-2026-000001: у черзі очікування"  # noqa: RUF001
    assert "змінено: «подано» → «у черзі очікування»." in message.body  # noqa: RUF001
    assert "Запитано: 2 одиниці." in message.body


def test_coordinators_hear_of_units_rejected_on_delivery() -> None:
    delivered = allocation_event(
        AllocationDelivered, received_quantity=2, rejected_quantity=1, note="wrong fuel"
    )
    uk = render(notice(delivered, "delivery_recorded"), "uk")
    en = render(notice(delivered, "delivery_recorded"), "en")
    assert uk.title == "UA63-2026-000001: доставку підтверджено — отримано: 2 одиниці, відхилено: 1 одиниця"
    assert "Відхилена кількість повертається до підбору." in uk.body
    assert "1 unit rejected on delivery: wrong fuel. The rejected quantity re-enters matching." in en.body


def test_dispatch_tells_the_region_carrier_waybill_and_serials() -> None:
    dispatched = allocation_event(AllocationDispatched, quantity=1)
    uk = render(notice(dispatched, "shipment_on_its_way"), "uk")
    assert "Донор jica відвантажив для заявки UA63-2026-000001: генератор, 1 одиниця." in uk.body
    assert "Перевізник: Nova Poshta." in uk.body
    assert "Накладна: WB-2026-0042." in uk.body
    assert "Серійні номери: SN-1, SN-2." in uk.body


def test_proposal_times_are_shown_in_kyiv_time_winter_and_summer() -> None:
    winter = allocation_event(AllocationProposed)  # expires 2026-12-01 12:00 UTC: EET, UTC+2
    assert "до 01.12.2026, 14:00 за київським часом" in render(notice(winter, "lot_proposed"), "uk").body
    summer = allocation_event(AllocationProposed, expires_at=datetime(2026, 7, 1, 21, 30, tzinfo=UTC))
    assert "by 2 July 2026, 00:30 Kyiv time" in render(notice(summer, "lot_proposed"), "en").body  # EEST


SAMPLES: list[Payload] = [
    request_submitted(),
    request_waitlisted(),
    request_status_changed(),
    *(
        allocation_event(cls)
        for cls in (
            AllocationProposed, AllocationApproved, AllocationDispatched,
            AllocationDelivered, AllocationReleased,
        )
    ),
]  # fmt: skip


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.template)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_rule_renders_a_one_line_title_and_a_body(rule: Rule, locale: Locale) -> None:
    payload = next(p for p in SAMPLES if isinstance(p, rule.event))
    message = render(notice(payload, rule.template), locale)
    assert message.title
    assert "\n" not in message.title
    assert len(message.title) <= 300
    assert message.body.strip()
    if locale == "uk":  # no English template words left in the Ukrainian text (event free text aside)
        words = set(message.body.replace(".", " ").replace(":", " ").split())
        assert not {"unit", "units", "Request", "Lot", "Waybill", "Serial", "Reason"} & words


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        (None, "en"), ("", "en"), ("uk", "uk"), ("uk-UA,uk;q=0.9,en;q=0.8", "uk"),
        ("en-US,en;q=0.9,uk;q=0.8", "en"), ("de-DE,de;q=0.9", "en"), ("de, uk;q=0.5", "uk"),
        ("en;q=0.2, uk;q=0.7", "uk"), ("uk;q=0", "en"), ("*", "en"), ("uk;q=bogus", "en"),
    ],
)  # fmt: skip
def test_language_is_chosen_from_accept_language(header: str | None, locale: str) -> None:
    assert negotiate_locale(header) == locale


def test_notices_name_a_registered_donor_in_the_notice_language() -> None:
    named = {"donor_name_en": "JICA", "donor_name_uk": "Японське агентство JICA"}
    delivered = allocation_event(AllocationDelivered, received_quantity=2, rejected_quantity=0, **named)
    en = render(notice(delivered, "delivery_recorded"), "en")
    uk = render(notice(delivered, "delivery_recorded"), "uk")
    assert " from JICA (generator)" in en.body
    assert "від донора Японське агентство JICA (генератор)" in uk.body
    proposed = allocation_event(AllocationProposed, **named)
    assert render(notice(proposed, "proposal_awaiting_approval"), "en").title.endswith("from JICA")
    assert (
        "Донор Японське агентство JICA пропонує"
        in render(notice(proposed, "proposal_awaiting_approval"), "uk").body
    )
    for message in (en, uk):
        assert "jica" not in message.body


def test_notices_fall_back_to_the_donor_id_when_the_donor_is_not_registered() -> None:
    dispatched = allocation_event(AllocationDispatched, quantity=1)
    en = render(notice(dispatched, "shipment_on_its_way"), "en")
    assert "Shipment from donor jica: 1 unit of generator for request UA63-2026-000001" in en.body


def test_a_proposals_reason_is_worded_in_the_notices_language_from_its_facts() -> None:
    facts = ReasonFacts(
        rank=2, priority="critical", front_line=True, distance_km=118.4,
        available_by_needed_by=True, compatible_lots=3, basis="nearest",
    )  # fmt: skip
    stored = describe_reason(facts, "", "en")
    proposed = allocation_event(AllocationProposed, reason=stored, reason_facts=facts)
    for template in ("proposal_awaiting_approval", "lot_proposed"):
        uk = render(notice(proposed, template), "uk").body
        assert "Місце в черзі обслуговування: 2 (критичний пріоритет, прифронтовий)" in uk
        assert "лот за 118 км" in uk
        assert "Ranked" not in uk
        assert stored in render(notice(proposed, template), "en").body
    older = allocation_event(AllocationProposed, reason="Ranked 1 (an older sentence).", reason_facts=None)
    assert "Ranked 1 (an older sentence)." in render(notice(older, "lot_proposed"), "uk").body
