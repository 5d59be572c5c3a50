"""Small builders of valid request bodies; tests override only what they are about."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any


def request_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /v1/requests`` body for Kharkiv."""
    body: dict[str, Any] = {
        "region": "UA-63",
        "settlement": "Харків",
        "facility": {"name": "Водоканал, насосна станція №2", "kind": "water_utility"},
        "category": "generator",
        "specs": {"power_kw": 250, "fuel": ["diesel", "gas"]},
        "quantity": 2,
        "priority": "critical",
        "needed_by": (date.today() + timedelta(days=30)).isoformat(),
        "justification": "Pumping station without grid power after the strike on 14 November.",
        "contact": {"name": "Олена Коваль", "phone": "+380 57 700 00 00", "email": "olena@example.org"},
    }
    body.update(overrides)
    return body
