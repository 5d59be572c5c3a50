"""A proposal's "why this lot" in the page's language, worded from the facts the allocation service keeps.

The allocation service stores an English sentence (``reason``) and the facts it was made from
(``reason_facts``: rank, priority, front line, distance, timing, compatible lots, basis). The English
messages here are that sentence word for word; the Ukrainian catalog words the same facts. Allocations
proposed before the facts were kept (or facts this console does not know) show the stored sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from services.console.domain import N_
from shared.events.payloads import ReasonFacts

Gettext = Callable[[str], str]

SENTENCE = N_(
    "Ranked %(rank)s in order of service (%(standing)s), this request %(basis)s; the lot is %(km)s km away"
    " and %(timing)s the needed-by date, one of %(lots)s compatible lots."
)
STANDING: Mapping[tuple[str, bool], str] = {
    ("critical", False): N_("critical"),
    ("critical", True): N_("critical, front-line"),
    ("high", False): N_("high"),
    ("high", True): N_("high, front-line"),
    ("medium", False): N_("medium"),
    ("medium", True): N_("medium, front-line"),
    ("low", False): N_("low"),
    ("low", True): N_("low, front-line"),
}
TIMING: Mapping[bool, str] = {True: N_("available by"), False: N_("only available after")}
BASIS: Mapping[str, str] = {
    "nearest": N_("takes the nearest compatible free stock left for it"),
    "late_stock_only": N_("takes compatible stock only available later: none available in time was left"),
    "exchanged": N_("gets stock freed for it by moving earlier requests to other lots that also fit them"),
    "moved": N_("was moved to this lot so that nearer compatible stock could serve other requests"),
}


def describe_reason(gettext: Gettext, facts: Mapping[str, Any] | None, stored: str) -> str:
    """Why this lot, in the language of ``gettext``; the stored English ``reason`` when facts are missing."""
    if not facts:
        return stored
    try:
        known = ReasonFacts.model_validate(facts)
    except ValidationError:
        return stored  # facts of a newer allocation service than this console knows
    return gettext(SENTENCE) % {
        "rank": known.rank,
        "standing": gettext(STANDING[known.priority, known.front_line]),
        "basis": gettext(BASIS[known.basis]),
        "km": f"{known.distance_km:.0f}",
        "timing": gettext(TIMING[known.available_by_needed_by]),
        "lots": known.compatible_lots,
    }


def reason_of(gettext: Gettext) -> Callable[[Any], str]:
    """The template's ``why(allocation)``: an allocation's reason in the page's language."""

    def why(allocation: Any) -> str:
        return describe_reason(gettext, getattr(allocation, "reason_facts", None), allocation.reason)

    return why
