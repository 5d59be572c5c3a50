"""The second guard for personal data in error texts (§14.7)."""

from __future__ import annotations

from shared.redaction import describe_error, redact


def test_emails_and_international_phone_numbers_are_masked() -> None:
    text = "recipient refused: <olena.koval@example.org> (+380 57 700-12-34), offset 1234567, id 42"
    assert redact(text) == "recipient refused: <<email>> (<phone>), offset 1234567, id 42"


def test_an_error_is_described_by_type_and_redacted_message_within_a_bound() -> None:
    described = describe_error(ValueError("bad contact " + "x@y.org " * 1000), limit=100)
    assert described.startswith("ValueError: bad contact <email>")
    assert len(described) == 100
