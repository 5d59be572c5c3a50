"""Account e-mails: the invitation and the reset in both languages, and which deliveries hold a secret."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notifications.account_links import TEMPLATES, holds_secret
from services.notifications.rendering import LOCALES, Locale, render
from services.notifications.routing import Notice
from shared.events.payloads import AccountInvited, AccountLinkIssued, AccountPasswordReset
from tests.factories import account_link

EXPIRES = datetime(2026, 12, 4, 18, 30, tzinfo=UTC)


def rendered(event_class: type[AccountLinkIssued], locale: Locale) -> tuple[AccountLinkIssued, str, str]:
    payload = account_link(event_class, locale=locale, expires_at=EXPIRES)
    message = render(Notice("account:x", TEMPLATES[event_class], payload), locale)
    return payload, message.title, message.body


@pytest.mark.parametrize(
    ("event_class", "locale", "title", "valid_until"),
    [
        (AccountInvited, "uk", "Вас запрошено до Vidnova", "дійсним до 04.12.2026, 18:30 UTC"),  # noqa: RUF001
        (AccountInvited, "en", "You are invited to Vidnova", "valid until 4 December 2026, 18:30 UTC"),
        (AccountPasswordReset, "uk", "Скидання пароля до Vidnova", "дійсним до 04.12.2026, 18:30 UTC"),
        (AccountPasswordReset, "en", "Reset your Vidnova password", "valid until 4 December 2026, 18:30 UTC"),
    ],
)
def test_account_email_greets_the_person_and_gives_the_link_with_its_expiry(
    event_class: type[AccountLinkIssued], locale: Locale, title: str, valid_until: str
) -> None:
    payload, subject, body = rendered(event_class, locale)
    assert subject == title
    assert payload.display_name in body.splitlines()[0]
    assert payload.link in body.splitlines()
    assert valid_until in body


@pytest.mark.parametrize("event_class", list(TEMPLATES))
@pytest.mark.parametrize("locale", LOCALES)
def test_account_email_is_written_in_one_language(
    event_class: type[AccountLinkIssued], locale: Locale
) -> None:
    _, _, body = rendered(event_class, locale)
    other_words = {"uk": {"link", "password", "Hello"}, "en": {"посиланням", "пароль", "Вітаємо,"}}[locale]
    assert not other_words & set(body.split())


def test_only_account_link_deliveries_hold_a_secret() -> None:
    assert holds_secret("vidnova.account.invited.v1")
    assert holds_secret("vidnova.account.password_reset.v1")
    assert not holds_secret("vidnova.allocation.approved.v1")
