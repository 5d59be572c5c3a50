"""The statement's words in Ukrainian and English: one small table per locale, no gettext catalogue."""

from __future__ import annotations

from typing import Literal, TypeAlias

Locale: TypeAlias = Literal["uk", "en"]

MONTHS: dict[Locale, tuple[str, ...]] = {
    "uk": (
        "січень", "лютий", "березень", "квітень", "травень", "червень",
        "липень", "серпень", "вересень", "жовтень", "листопад", "грудень",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip

LABELS: dict[Locale, dict[str, str]] = {
    "uk": {
        "title": "Звіт про виконання поставок",
        "brand": "Віднова",
        "period": "Період",
        "issued": "Складено",
        "summary": "Підсумок",
        "proposed": "Запропоновано одиниць",
        "approved": "Затверджено одиниць",
        "dispatched": "Відвантажено одиниць",
        "delivered": "Доставлено одиниць",
        "rejected_on_receipt": "Відхилено при отриманні",
        "value_delivered": "Вартість доставленого",
        "facilities_served": "Обслуговано закладів",
        "median_days": "Медіана днів від затвердження до доставки",
        "none": "—",
        "by_region": "За регіонами та програмами",
        "region": "Регіон",
        "programme": "Програма",
        "no_programme": "Поза програмами",
        "value": "Вартість",
        "facilities": "Заклади",
        "chart": "Доставлено одиниць за регіонами",
        "facilities_list": "Обслуговані заклади",
        "facility": "Заклад",
        "settlement": "Населений пункт",
        "requests": "Заявки",
        "categories": "Категорії",
        "units_received": "Отримано одиниць",
        "nothing_delivered": "У цьому місяці нічого не доставлено.",
        "footer": "Цифри — за подіями, що надійшли до моменту складання звіту (UTC).",
    },
    "en": {
        "title": "Fulfilment statement",
        "brand": "Vidnova",
        "period": "Period",
        "issued": "Issued",
        "summary": "Summary",
        "proposed": "Units proposed",
        "approved": "Units approved",
        "dispatched": "Units dispatched",
        "delivered": "Units delivered",
        "rejected_on_receipt": "Rejected on receipt",
        "value_delivered": "Value delivered",
        "facilities_served": "Facilities served",
        "median_days": "Median days, approval to delivery",
        "none": "—",
        "by_region": "By region and programme",
        "region": "Region",
        "programme": "Programme",
        "no_programme": "Outside any programme",
        "value": "Value",
        "facilities": "Facilities",
        "chart": "Units delivered by region",
        "facilities_list": "Facilities served",
        "facility": "Facility",
        "settlement": "Settlement",
        "requests": "Requests",
        "categories": "Categories",
        "units_received": "Units received",
        "nothing_delivered": "Nothing was delivered this month.",
        "footer": "Figures from the events received by the time of issue (UTC).",
    },
}


def month_title(month: str, locale: Locale) -> str:
    """``2026-11`` as ``листопад 2026`` or ``November 2026``."""
    year, number = month.split("-")
    return f"{MONTHS[locale][int(number) - 1]} {year}"
