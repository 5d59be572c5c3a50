"""Identifiers with one bound everywhere (SPEC §14.8): checked at the API; columns are at least as wide."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

DONOR_ID_MAX = 64
DONOR_ID_PATTERN = r"^[a-z0-9-]+$"
DonorId = Annotated[str, StringConstraints(min_length=1, max_length=DONOR_ID_MAX, pattern=DONOR_ID_PATTERN)]


def is_donor_id(value: object) -> bool:
    """Whether a value is a well-formed donor id (1 to 64 characters of a-z, 0-9 and ``-``)."""
    if not isinstance(value, str) or not 0 < len(value) <= DONOR_ID_MAX:
        return False
    return re.fullmatch(DONOR_ID_PATTERN, value) is not None
