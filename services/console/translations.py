"""The gettext catalogs (Babel `.po` files, compiled at start) and one Jinja environment per language."""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path

from babel.dates import format_date, format_datetime, get_timezone
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.console.domain import LOCALES, Locale, name_in
from services.console.reasons import reason_of

PACKAGE = Path(__file__).parent
LOCALE_DIR = PACKAGE / "locale"
TEMPLATE_DIR = PACKAGE / "templates"
KYIV = get_timezone("Europe/Kyiv")  # the people using the console read times in Ukraine's time


def load_catalog(locale: Locale) -> Translations:
    """The compiled catalog of one language, read from its `.po` file."""
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def page_environments() -> dict[Locale, Environment]:
    """A template environment per language, each with its catalog installed."""
    environments: dict[Locale, Environment] = {}
    for locale in LOCALES:
        environment = Environment(
            loader=FileSystemLoader(TEMPLATE_DIR),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
        )
        catalog = load_catalog(locale)
        environment.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
        environment.globals["why"] = reason_of(locale)
        environment.filters["when"] = partial(format_datetime, format="medium", tzinfo=KYIV, locale=locale)
        environment.filters["day"] = partial(format_date, format="medium", locale=locale)
        environment.filters["month"] = partial(format_date, format="LLLL y", locale=locale)
        environment.filters["number"] = partial(format_decimal, locale=locale)
        # A lot's or allocation's donor, and a donor or programme itself, by name in the page's language.
        environment.filters["donor"] = partial(name_in, locale=locale, of="donor")
        environment.filters["name"] = partial(name_in, locale=locale)
        environments[locale] = environment
    return environments
