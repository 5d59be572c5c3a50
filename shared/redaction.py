"""Personal data kept out of logs, dead-letter headers and error texts (SPEC §14.7).

The main guard is at the source: engines are created with ``hide_parameters=True`` so database errors
never carry bound values (contact names, phones, e-mails). This is the second line, for text that
can still hold them (a handler's own message, a library's error): e-mail addresses and international
phone numbers are masked.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\+\d[\d\s().-]{6,}\d")


def redact(text: str) -> str:
    """The text with e-mail addresses and phone numbers masked."""
    return PHONE.sub("<phone>", EMAIL.sub("<email>", text))


def describe_error(error: BaseException, *, limit: int = 4000) -> str:
    """``Type: message`` of an exception, redacted and bounded, for headers and stored errors."""
    return redact(f"{type(error).__name__}: {error}")[:limit]
