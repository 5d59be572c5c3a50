"""Messages from Jinja2 templates in English and Ukrainian, with plural forms and local names."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib.resources import files
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from services.notifications.routing import Notice
from shared.catalog import get_category
from shared.geography import get_region
from shared.reasons import describe_reason

Locale = Literal["en", "uk"]
LOCALES: tuple[Locale, ...] = get_args(Locale)
DEFAULT_LOCALE: Locale = "en"
TITLE_MAX = 300


@dataclass(frozen=True)
class Message:
    """A rendered notice: a one-line title (the e-mail subject) and a plain-text body."""

    title: str
    body: str


def render(notice: Notice, locale: Locale) -> Message:
    """Render a notice in one language."""
    template = _environment().get_template(f"{locale}/{notice.template}.j2")
    context = template.new_context({"p": notice.payload, "locale": locale})
    title = " ".join("".join(template.blocks["title"](context)).split())
    body = "".join(template.blocks["body"](context))
    return Message(title=title[:TITLE_MAX], body=_tidy(body))


def render_all(notice: Notice) -> dict[Locale, Message]:
    """Render a notice in every supported language."""
    return {locale: render(notice, locale) for locale in LOCALES}


def plural_index(n: int, locale: Locale) -> int:
    """Which plural form a count takes: English one/other; Ukrainian one/few/many (CLDR)."""
    if locale == "en":
        return 0 if n == 1 else 1
    if n % 10 == 1 and n % 100 != 11:
        return 0
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1
    return 2


def negotiate_locale(accept_language: str | None) -> Locale:
    """The supported language an ``Accept-Language`` header prefers most; English otherwise."""
    ranked: list[tuple[float, int, str]] = []
    for position, entry in enumerate((accept_language or "").split(",")):
        tag, _, params = entry.partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = _quality(params)
        if primary in LOCALES and quality > 0:
            ranked.append((-quality, position, primary))  # highest quality, then the earliest entry
    return _as_locale(min(ranked)[2]) if ranked else DEFAULT_LOCALE


def _as_locale(value: str) -> Locale:
    return "uk" if value == "uk" else "en"


def _quality(params: str) -> float:
    match = re.search(r"q\s*=\s*([^;\s]*)", params)
    if not match:
        return 1.0
    try:
        return float(match.group(1))
    except ValueError:
        return 0.0  # a malformed weight: ignore the entry


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


@cache
def _terms(locale: Locale) -> dict[str, Any]:
    text = (files("services.notifications") / "templates" / locale / "terms.json").read_text(encoding="utf-8")
    terms: dict[str, Any] = json.loads(text)
    return terms


def _locale(context: Context) -> Locale:
    return _as_locale(str(context["locale"]))


@pass_context
def _plural(context: Context, n: int, *forms: str) -> str:
    return forms[min(plural_index(n, _locale(context)), len(forms) - 1)]


@pass_context
def _units(context: Context, n: int) -> str:
    forms: list[str] = _terms(_locale(context))["unit"]
    return f"{n} {forms[plural_index(n, _locale(context))]}"


@pass_context
def _region(context: Context, code: str) -> str:
    region = get_region(code)
    if region is None:
        return code
    return region.name_uk if _locale(context) == "uk" else region.name_en


@pass_context
def _category(context: Context, name: str) -> str:
    category = get_category(name)
    if category is None:
        return name
    return (category.name_uk if _locale(context) == "uk" else category.name_en).lower()


@pass_context
def _donor(context: Context, payload: Any) -> str:
    """The donor's name in the notice's language when the event carries it, else its id.

    English templates use it on its own ("from JICA"), so an unnamed donor is "donor jica" there;
    Ukrainian ones keep the noun in the case the sentence needs ("від донора JICA").
    """
    locale = _locale(context)
    name = getattr(payload, f"donor_name_{locale}", None)
    if name:
        return str(name)
    return f"donor {payload.donor_id}" if locale == "en" else str(payload.donor_id)


@pass_context
def _term(context: Context, value: str, group: str) -> str:
    names: dict[str, str] = _terms(_locale(context))[group]
    return names.get(value, value)


@pass_context
def _date(context: Context, value: date) -> str:
    if _locale(context) == "uk":
        return f"{value:%d.%m.%Y}"
    month = _terms("en")["months"][value.month - 1]
    return f"{value.day} {month} {value.year}"


@pass_context
def _why(context: Context, payload: Any) -> str:
    """A proposal's "why this lot" in the notice's language (shared/reasons.py), as the console words it."""
    return describe_reason(payload.reason_facts, payload.reason, _locale(context))


KYIV = ZoneInfo("Europe/Kyiv")
KYIV_TIME = {"uk": "за київським часом", "en": "Kyiv time"}


@pass_context
def _datetime(context: Context, value: datetime) -> str:
    """A moment in the time people in Ukraine read their clocks by (EET/EEST), saying so."""
    moment = value.astimezone(KYIV)
    return f"{_date(context, moment.date())}, {moment:%H:%M} {KYIV_TIME[_locale(context)]}"


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("services.notifications", "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),  # plain text
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: no stat of the file on every render (a third of its CPU, bench).
        auto_reload=False,
    )
    environment.globals["plural"] = _plural
    environment.filters.update(
        units=_units,
        region=_region,
        category=_category,
        donor=_donor,
        why=_why,
        term=_term,
        date=_date,
        datetime=_datetime,
    )
    return environment
