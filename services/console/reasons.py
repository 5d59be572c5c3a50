"""A proposal's "why this lot" in the page's language, worded by shared/reasons.py from the facts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.events.payloads import Locale
from shared.reasons import describe_reason


def reason_of(locale: Locale) -> Callable[[Any], str]:
    """The template's ``why(allocation)``: an allocation's reason in the page's language."""

    def why(allocation: Any) -> str:
        return describe_reason(getattr(allocation, "reason_facts", None), allocation.reason, locale)

    return why
