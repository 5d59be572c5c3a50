"""The console's rules with no I/O: passwords, lockout, session timeouts, where to go after sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from shared.identifiers import is_donor_id

Role = Literal["region_admin", "coordinator", "donor", "admin"]
Locale = Literal["uk", "en"]
LOCALES: tuple[Locale, ...] = ("uk", "en")


def N_(message: str) -> str:
    """Mark a message id for the catalogs; the page translates it when it shows it."""
    return message


FIELD_REQUIRED = N_("Fill in this field.")
VALUE_NOT_ALLOWED = N_("This value is not one the catalog allows.")
FIELD_INVALID = N_("Check this field.")


def field_hint(api_message: str, *, catalog_value: bool, hint: str | None = None) -> str:
    """What to say beside a form field a service refused, as a message id in the page's language.

    The services answer in English; the console classifies: missing, a catalog value out of range, or the
    field's own hint (e.g. "Enter a whole number from 1 to 1000.")."""
    if "required" in api_message.lower() or "at least 1 character" in api_message:
        return FIELD_REQUIRED
    if catalog_value:
        return VALUE_NOT_ALLOWED
    return hint or FIELD_INVALID


@dataclass(frozen=True)
class FormErrors:
    """How one form shows the API's ``errors[]``: the form field each API path names, and what to say there.

    ``fields`` maps API paths (without ``body.`` and list indexes) to form fields; a path maps by itself or
    its nearest listed parent (``contact.email.0`` → ``contact.email`` → ``contact_email``). An unlisted path
    names a form field of the same name, unless the form is ``closed``: then it is the form's ``general``
    error. Catalog attributes ``specs.<name>`` become ``spec_prefix + name``.
    """

    fields: Mapping[str, str] = field(default_factory=dict)
    hints: Mapping[str, str] = field(default_factory=dict)
    spec_prefix: str | None = None  # None: the form has no catalog attributes
    closed: bool = False
    general: str = "form"

    def field_of(self, api_field: str) -> str:
        """The form field an API error path names (``body.location.site`` → ``site``)."""
        parts = [part for part in api_field.split(".") if not part.isdigit()]
        if parts and parts[0] == "body":
            parts = parts[1:]
        if self.spec_prefix is not None and len(parts) > 1 and parts[0] == "specs":
            return self.spec_prefix + parts[1]
        for end in range(len(parts), 0, -1):
            listed = self.fields.get(".".join(parts[:end]))
            if listed is not None:
                return listed
        return self.general if self.closed or not parts else ".".join(parts)

    def by_field(self, errors: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """The API's ``errors[]`` as form field → message id in the page's language (the first per field)."""
        shown: dict[str, str] = {}
        for error in errors:
            name = self.field_of(str(error.get("field", "")))
            catalog_value = self.spec_prefix is not None and name.startswith(self.spec_prefix)
            message = str(error.get("message", ""))
            shown.setdefault(
                name, field_hint(message, catalog_value=catalog_value, hint=self.hints.get(name))
            )
        return shown


def name_in(item: object, locale: str, *, of: str = "") -> str:
    """A registry entry's name in the page's language, or its id when it has none.

    ``of="donor"`` reads ``donor_name_uk`` / ``donor_name_en`` / ``donor_id`` (lots, allocations); the default
    reads ``name_uk`` / ``name_en`` / ``id`` (donors, programmes)."""
    prefix = f"{of}_" if of else ""
    name = getattr(item, f"{prefix}name_{'uk' if locale == 'uk' else 'en'}", None)
    return str(name or getattr(item, f"{prefix}id"))


ROLE_LABELS: dict[str, str] = {
    "region_admin": N_("Region administrator"),
    "coordinator": N_("Coordinator"),
    "donor": N_("Donor"),
    "admin": N_("Administrator"),
}
SERVICE_DOWN: dict[str, str] = {
    "requests": N_("The requests service is unavailable"),
    "allocation": N_("The allocation service is unavailable"),
    "notifications": N_("The notifications service is unavailable"),
}
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_DURATION = timedelta(minutes=15)
LINK_LIFETIME = timedelta(hours=72)
REGION_PATTERN = re.compile(r"^UA-\d{2}$")


class PasswordRefused(ValueError):
    """A password that the policy refuses; ``reason`` is a message id the page translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ScopeInvalid(ValueError):
    """A role without the scope it needs, or with one it must not carry."""


def check_password(password: str, *, email: str, display_name: str) -> None:
    """At least 12 characters, and none of the account's own email local part or name in it."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRefused(N_("The password must be at least 12 characters long."))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRefused(N_("The password is too long."))
    lowered = password.casefold()
    local_part = email.split("@", 1)[0].casefold()
    words = [local_part, *re.split(r"[\s.\-_]+", local_part), *display_name.casefold().split()]
    if any(len(word) >= 3 and word in lowered for word in words):
        raise PasswordRefused(N_("The password must not contain your email address or name."))


def normalise_email(email: str) -> str:
    """Emails are unique regardless of case: the stored, compared form."""
    return email.strip().casefold()


def check_scope(role: Role, *, region: str | None, donor_id: str | None) -> None:
    """A region admin has exactly a region, a donor exactly a donor id, the others neither."""
    if role == "region_admin":
        if not region or not REGION_PATTERN.match(region) or donor_id:
            raise ScopeInvalid(N_("A region admin needs a region such as UA-63, and no donor."))
    elif role == "donor":
        if not donor_id or not is_donor_id(donor_id) or region:
            raise ScopeInvalid(N_("A donor account needs a donor id (a-z, 0-9, '-'), and no region."))
    elif region or donor_id:
        raise ScopeInvalid(N_("Coordinators and admins carry no region or donor."))


def locked_until(failures: Iterable[datetime], *, now: datetime) -> datetime | None:
    """When the account unlocks, if five failures fell within 15 minutes and that lock still runs."""
    recent = sorted(f for f in failures if f > now - LOCKOUT_WINDOW - LOCKOUT_DURATION)
    for index in range(len(recent) - LOCKOUT_FAILURES + 1):
        first, fifth = recent[index], recent[index + LOCKOUT_FAILURES - 1]
        if fifth - first <= LOCKOUT_WINDOW and now < fifth + LOCKOUT_DURATION:
            return fifth + LOCKOUT_DURATION
    return None


@dataclass(frozen=True)
class SessionTimes:
    """When a session started and was last used."""

    started_at: datetime
    last_seen_at: datetime


def session_expired(times: SessionTimes, *, now: datetime, idle: timedelta, absolute: timedelta) -> bool:
    """Idle for longer than ``idle`` or older than ``absolute``."""
    return now - times.last_seen_at > idle or now - times.started_at > absolute


def safe_next(target: str | None) -> str:
    """A local path to return to after sign-in; anything else (other hosts, schemes, `//x`) goes home."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    return target


SessionStage = Literal["full", "totp", "enrol"]


def stage_after_password(*, role: str, totp_enabled: bool) -> SessionStage:
    """After the password: the TOTP code next, an admin's enrolment first, or signed in."""
    if totp_enabled:
        return "totp"
    return "enrol" if role == "admin" else "full"


@dataclass(frozen=True)
class NavigationItem:
    """One link of the header's role navigation; ``label`` is a message id."""

    path: str
    label: str


def navigation_for(role: str) -> tuple[NavigationItem, ...]:
    """The pages a role reaches from the header, in the order of the work."""
    items = [NavigationItem("/", N_("Home")), NavigationItem("/inbox", N_("Inbox"))]
    if role in ("region_admin", "coordinator", "admin"):
        items.append(NavigationItem("/requests", N_("Requests")))
    items += stock_navigation_for(role)
    items += [NavigationItem("/needs", N_("Needs"))] if role == "donor" else []
    items.append(NavigationItem("/reports", N_("Reports")))
    if role == "admin":
        items += [
            NavigationItem("/admin/accounts", N_("Accounts")),
            NavigationItem("/admin/sign-ins", N_("Sign-ins")),
        ]
    items.append(NavigationItem("/subscriptions", N_("Subscriptions")))
    items.append(NavigationItem("/account", N_("My account")))
    return tuple(items)


def stock_navigation_for(role: str) -> list[NavigationItem]:
    """The stock pages a role reaches: approvals (coordinators), lots (donors, coordinators), allocations,
    the donor registry (coordinators)."""
    items = [NavigationItem("/approvals", N_("Approvals"))] if role in ("coordinator", "admin") else []
    if role in ("donor", "coordinator", "admin"):
        items.append(NavigationItem("/lots", N_("Lots")))
    items.append(NavigationItem("/allocations", N_("Allocations")))
    if role in ("coordinator", "admin"):
        items.append(NavigationItem("/donors", N_("Donors")))
    return items
