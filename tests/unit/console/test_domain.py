"""The console's pure rules: password policy, lockout window, session timeouts, where sign-in returns to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.console import domain

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
IDLE, ABSOLUTE = timedelta(hours=8), timedelta(hours=24)


def minutes_ago(*minutes: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes]


def test_password_of_twelve_characters_is_accepted() -> None:
    domain.check_password("brisk-otter-42", email="olena@example.org", display_name="Olena Koval")


@pytest.mark.parametrize("password", ["short", "elevenchars", ""])
def test_password_shorter_than_twelve_characters_is_refused(password: str) -> None:
    with pytest.raises(domain.PasswordRefused, match="12 characters"):
        domain.check_password(password, email="olena@example.org", display_name="Olena Koval")


@pytest.mark.parametrize("password", ["olena-is-here-2026", "MY-KOVAL-PASSWORD", "xx.koval.xx.long"])
def test_password_containing_the_email_local_part_or_name_is_refused(password: str) -> None:
    with pytest.raises(domain.PasswordRefused, match="email address or name"):
        domain.check_password(password, email="olena@example.org", display_name="Olena Koval")


def test_email_compares_without_case() -> None:
    assert domain.normalise_email("  Olena@Example.ORG ") == domain.normalise_email("olena@example.org")


def test_five_failures_within_fifteen_minutes_lock_for_fifteen_minutes() -> None:
    failures = minutes_ago(14, 10, 6, 3, 1)
    assert domain.locked_until(failures, now=NOW) == NOW - timedelta(minutes=1) + timedelta(minutes=15)


def test_four_failures_do_not_lock() -> None:
    assert domain.locked_until(minutes_ago(4, 3, 2, 1), now=NOW) is None


def test_five_failures_spread_over_more_than_fifteen_minutes_do_not_lock() -> None:
    assert domain.locked_until(minutes_ago(20, 14, 10, 6, 1), now=NOW) is None


def test_lock_ends_fifteen_minutes_after_the_fifth_failure() -> None:
    assert domain.locked_until(minutes_ago(20, 19, 18, 17, 16), now=NOW) is None
    assert domain.locked_until(minutes_ago(20, 19, 18, 17, 14), now=NOW) is not None


def test_session_idle_for_eight_hours_expires() -> None:
    times = domain.SessionTimes(
        started_at=NOW - timedelta(hours=9), last_seen_at=NOW - timedelta(hours=8, seconds=1)
    )
    assert domain.session_expired(times, now=NOW, idle=IDLE, absolute=ABSOLUTE)


def test_session_in_use_expires_after_twenty_four_hours() -> None:
    times = domain.SessionTimes(started_at=NOW - timedelta(hours=24, seconds=1), last_seen_at=NOW)
    assert domain.session_expired(times, now=NOW, idle=IDLE, absolute=ABSOLUTE)


def test_session_in_use_within_both_limits_lives() -> None:
    times = domain.SessionTimes(started_at=NOW - timedelta(hours=23), last_seen_at=NOW - timedelta(hours=7))
    assert not domain.session_expired(times, now=NOW, idle=IDLE, absolute=ABSOLUTE)


@pytest.mark.parametrize("target", ["/inbox", "/admin/accounts?done=role", "/requests/1#timeline"])
def test_next_keeps_local_paths(target: str) -> None:
    assert domain.safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "javascript:alert(1)",
        "inbox",
        "/\tx",
        "http:/evil.example",
    ],
)
def test_next_refuses_anything_that_leaves_the_console(target: str | None) -> None:
    assert domain.safe_next(target) == "/"


def test_admin_without_totp_must_enrol_and_others_with_totp_verify() -> None:
    assert domain.stage_after_password(role="admin", totp_enabled=False) == "enrol"
    assert domain.stage_after_password(role="admin", totp_enabled=True) == "totp"
    assert domain.stage_after_password(role="donor", totp_enabled=True) == "totp"
    assert domain.stage_after_password(role="coordinator", totp_enabled=False) == "full"


@pytest.mark.parametrize(
    ("role", "region", "donor_id"),
    [
        ("region_admin", None, None),
        ("region_admin", "UA-63", "jica"),
        ("donor", None, None),
        ("admin", "UA-63", None),
    ],
)
def test_role_without_its_scope_or_with_a_foreign_one_is_refused(
    role: domain.Role, region: str | None, donor_id: str | None
) -> None:
    with pytest.raises(domain.ScopeInvalid):
        domain.check_scope(role, region=region, donor_id=donor_id)


def test_only_admins_see_the_admin_pages_in_the_navigation() -> None:
    admin_paths = {item.path for item in domain.navigation_for("admin")}
    donor_paths = {item.path for item in domain.navigation_for("donor")}
    assert {"/admin/accounts", "/admin/sign-ins"} <= admin_paths
    assert not any(path.startswith("/admin") for path in donor_paths)
