"""A proposal's "why this lot" in English or Ukrainian, worded from the facts the allocation service keeps.

The allocation service stores an English sentence (``reason``) and the facts it was made from
(``reason_facts``: rank, priority, front line, distance, timing, compatible lots, basis). Every reader
that shows the reason to a person (the console's pages, the notifications' e-mails) words the facts here,
so a coordinator reads the same sentence on the approvals page and in the e-mail. The English wording is
the stored sentence word for word (a test holds them together). Proposals made before the facts were kept,
or facts newer than this code knows, show the stored sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.events.payloads import Locale, ReasonFacts


@dataclass(frozen=True)
class Wording:
    """One language's sentence and the phrases it is made of."""

    sentence: str
    standing: Mapping[tuple[str, bool], str]
    timing: Mapping[bool, str]
    basis: Mapping[str, str]


def _standing(names: Mapping[str, str], front_line: str) -> dict[tuple[str, bool], str]:
    return {
        (priority, front): f"{name}{front_line if front else ''}"
        for priority, name in names.items()
        for front in (False, True)
    }


WORDING: Mapping[Locale, Wording] = {
    "en": Wording(
        sentence="Ranked {rank} in order of service ({standing}), this request {basis};"
        " the lot is {km} km away and {timing} the needed-by date, one of {lots} compatible lots.",
        standing=_standing(
            {"critical": "critical", "high": "high", "medium": "medium", "low": "low"}, ", front-line"
        ),
        timing={True: "available by", False: "only available after"},
        basis={
            "nearest": "takes the nearest compatible free stock left for it",
            "late_stock_only": "takes compatible stock only available later: none available in time was left",
            "exchanged": "gets stock freed for it by moving earlier requests to other lots"
            " that also fit them",
            "moved": "was moved to this lot so that nearer compatible stock could serve other requests",
        },
    ),
    "uk": Wording(
        sentence="Місце в черзі обслуговування: {rank} ({standing}); ця заявка {basis}; лот за {km} км"
        " і {timing} потрібної дати; сумісних лотів: {lots}.",  # noqa: RUF001 (the Ukrainian word for "and")
        standing=_standing(
            {
                "critical": "критичний пріоритет",
                "high": "високий пріоритет",
                "medium": "середній пріоритет",
                "low": "низький пріоритет",
            },
            ", прифронтовий",
        ),
        timing={True: "доступний до", False: "доступний лише після"},
        basis={
            "nearest": "отримує найближчий сумісний вільний запас, що для неї лишився",
            "late_stock_only": "отримує сумісний запас, доступний лише пізніше:"
            " вчасно доступного не лишилося",
            "exchanged": "отримує запас, звільнений для неї перенесенням попередніх заявок на інші лоти,"
            " які їм теж підходять",
            "moved": "перенесена на цей лот, щоб ближчий сумісний запас обслужив інші заявки",
        },
    ),
}


def describe_reason(facts: Mapping[str, Any] | ReasonFacts | None, stored: str, locale: Locale) -> str:
    """Why this lot, in ``locale``; the stored English ``reason`` when the facts are missing or unknown."""
    if not facts:
        return stored
    try:
        known = facts if isinstance(facts, ReasonFacts) else ReasonFacts.model_validate(facts)
    except ValidationError:
        return stored  # facts of a newer allocation service than this reader knows
    wording = WORDING[locale]
    return wording.sentence.format(
        rank=known.rank,
        standing=wording.standing[known.priority, known.front_line],
        basis=wording.basis[known.basis],
        km=f"{known.distance_km:.0f}",
        timing=wording.timing[known.available_by_needed_by],
        lots=known.compatible_lots,
    )
