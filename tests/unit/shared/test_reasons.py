"""A proposal's "why this lot" worded from its facts in English or Ukrainian, or the stored sentence."""

from __future__ import annotations

from dataclasses import asdict
from types import SimpleNamespace
from typing import Any, get_args

import pytest

from services.allocation.matching.values import Basis, Reason
from services.console.reasons import reason_of
from shared.reasons import WORDING, describe_reason

STORED = "Ranked 1 in order of service (stored sentence)."

UKRAINIAN_BASIS = {
    "nearest": "ця заявка отримує найближчий сумісний вільний запас, що для неї лишився",
    "late_stock_only": "ця заявка отримує сумісний запас, доступний лише пізніше: вчасно доступного не",
    "exchanged": "ця заявка отримує запас, звільнений для неї перенесенням попередніх заявок на інші лоти",
    "moved": "ця заявка перенесена на цей лот, щоб ближчий сумісний запас обслужив інші заявки",
}


def reason(basis: str, **changes: Any) -> Reason:
    facts: dict[str, Any] = {
        "rank": 3,
        "priority": "critical",
        "front_line": True,
        "distance_km": 41.6,
        "available_by_needed_by": basis != "late_stock_only",
        "compatible_lots": 4,
        "basis": basis,
    }
    return Reason(**{**facts, **changes})


def test_every_basis_the_engine_gives_has_words_in_both_languages() -> None:
    for wording in WORDING.values():
        assert set(wording.basis) == set(get_args(Basis)) == set(UKRAINIAN_BASIS)


@pytest.mark.parametrize("basis", get_args(Basis))
def test_the_english_wording_is_the_allocation_services_sentence_word_for_word(basis: str) -> None:
    for changes in ({}, {"front_line": False, "priority": "low"}, {"distance_km": 0.4, "rank": 120}):
        why = reason(basis, **changes)
        assert describe_reason(asdict(why), STORED, "en") == why.describe()


@pytest.mark.parametrize("basis", get_args(Basis))
def test_the_ukrainian_wording_names_each_fact(basis: str) -> None:
    text = describe_reason(asdict(reason(basis)), STORED, "uk")
    assert text.startswith("Місце в черзі обслуговування: 3 (критичний пріоритет, прифронтовий); ")
    assert UKRAINIAN_BASIS[basis] in text
    assert "лот за 42 км" in text
    assert text.endswith("потрібної дати; сумісних лотів: 4.")
    timing = "доступний лише після" if basis == "late_stock_only" else "доступний до"
    assert f"км і {timing} потрібної дати" in text  # noqa: RUF001
    assert not any(english in text for english in ("Ranked", "request", "km away", "front-line"))


def test_the_ukrainian_standing_follows_priority_and_front_line() -> None:
    text = describe_reason(asdict(reason("nearest", priority="medium", front_line=False)), STORED, "uk")
    assert "(середній пріоритет);" in text


UNKNOWN_BASIS = {**asdict(reason("nearest")), "basis": "teleported"}


@pytest.mark.parametrize("facts", [None, {}, UNKNOWN_BASIS, {"rank": 1}])
def test_without_facts_it_knows_the_stored_english_sentence_is_shown(facts: dict[str, Any] | None) -> None:
    assert describe_reason(facts, STORED, "uk") == STORED
    assert describe_reason(facts, STORED, "en") == STORED


def test_the_template_helper_reads_an_allocations_facts_and_reason() -> None:
    proposed = SimpleNamespace(reason=STORED, reason_facts=asdict(reason("moved")))
    older = SimpleNamespace(reason=STORED, reason_facts=None)
    assert reason_of("uk")(proposed).startswith("Місце в черзі")
    assert reason_of("uk")(older) == STORED
