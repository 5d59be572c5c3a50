"""Render a ``DonorStatementIssued`` as an A4 PDF in Ukrainian or English.

The HTML comes from a Jinja2 template beside this module; WeasyPrint lays it out with the system's
DejaVu Sans (Cyrillic included). Nothing is fetched: the CSS is passed as a string, the chart is
inline SVG, and the URL fetcher refuses every URL.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from shared.catalog import get_category
from shared.events.payloads import DonorStatementIssued, Money
from shared.geography import get_region
from shared.statement.chart import bar_chart
from shared.statement.labels import LABELS, Locale, month_title

_LAYOUT = threading.Lock()  # one WeasyPrint layout at a time: pango is not documented as thread-safe


def render_pdf(statement: DonorStatementIssued, locale: Locale) -> bytes:
    """The statement as PDF bytes, its words and place names in ``locale``.

    About half a second of CPU: callers in an event loop run it in a thread (``asyncio.to_thread``);
    renders from several threads take turns."""
    from weasyprint import CSS, HTML  # imported here: loading pango costs time a service may never need

    html = _environment().get_template("statement.html").render(**_view(statement, locale))
    with _LAYOUT:
        stylesheet = CSS(string=_stylesheet(), url_fetcher=_offline_fetcher())
        document = HTML(string=html, base_url=None, url_fetcher=_offline_fetcher())
        pdf = document.write_pdf(stylesheets=[stylesheet])
    assert pdf is not None  # write_pdf returns the bytes when given no target
    return bytes(pdf)


def _view(statement: DonorStatementIssued, locale: Locale) -> dict[str, Any]:
    words = LABELS[locale]
    donor = statement.donor_name_uk if locale == "uk" else statement.donor_name_en
    per_region: dict[str, int] = defaultdict(int)
    for line in statement.lines:
        per_region[line.region] += line.delivered
    chart_values = sorted(per_region.items(), key=lambda item: (-item[1], item[0]))
    return {
        "lang": locale,
        "t": words,
        "donor": donor,
        "month": month_title(statement.month, locale),
        "statement": statement,
        "totals": statement.totals,
        "lines": sorted(statement.lines, key=lambda line: (line.region, line.programme_id or "")),
        "facilities": sorted(statement.facilities, key=lambda f: (f.region, f.settlement, f.facility_name)),
        "chart": bar_chart([(_region(code, locale), units) for code, units in chart_values]),
        "region": lambda code: _region(code, locale),
        "programme": lambda line: _programme(line.programme_name_uk, line.programme_name_en, locale, words),
        "category": lambda name: _category(name, locale),
        "number": lambda value: _number(value, locale),
        "money": lambda sums: _money(sums, locale, words["none"]),
        "days": lambda value: words["none"] if value is None else _decimal(Decimal(str(value)), 1, locale),
    }


def _region(code: str, locale: Locale) -> str:
    region = get_region(code)
    if region is None:
        return code
    return region.name_uk if locale == "uk" else region.name_en


def _programme(name_uk: str | None, name_en: str | None, locale: Locale, words: dict[str, str]) -> str:
    name = name_uk if locale == "uk" else name_en
    return name or name_en or name_uk or words["no_programme"]


def _category(name: str, locale: Locale) -> str:
    category = get_category(name)
    if category is None:
        return name
    return category.name_uk if locale == "uk" else category.name_en


def _number(value: int, locale: Locale) -> str:
    grouped = f"{value:,}"
    return grouped.replace(",", "\u00a0") if locale == "uk" else grouped


def _decimal(value: Decimal, places: int, locale: Locale) -> str:
    text = f"{value:,.{places}f}"
    if locale == "uk":
        return text.replace(",", "\u00a0").replace(".", ",")
    return text


def _money(sums: list[Money], locale: Locale, none: str) -> str:
    if not sums:
        return none
    ordered = sorted(sums, key=lambda money: money.currency)
    return "; ".join(f"{_decimal(money.amount, 2, locale)}\u00a0{money.currency}" for money in ordered)


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("shared.statement", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _stylesheet() -> str:
    template = _environment().loader
    assert template is not None
    source, _, _ = template.get_source(_environment(), "statement.css")
    return source


def _offline_fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    class OfflineFetcher(URLFetcher):  # type: ignore[misc]
        """Refuses every URL: a statement is rendered from its payload alone, never from the network."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"statement rendering fetches nothing (asked for {url})")

    return OfflineFetcher(allowed_protocols=())
