"""The new-request form as a person fills it: its labels in both languages (SPEC §13's public names)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.async_api import Page

REF = re.compile(r"UA\d{2}-\d{4}-\d{6}")
ENGLISH = {
    "category": "Category",
    "power": "Rated power",
    "settlement": "Settlement",
    "facility_name": "Facility name",
    "facility_kind": "Facility kind",
    "quantity": "Quantity",
    "priority": "Priority",
    "needed_by": "Needed by",
    "justification": "Justification",
    "contact_name": "Contact name",
    "contact_phone": "Contact phone",
    "contact_email": "Contact email",
    "submit": "Submit request",
    "diesel": "Diesel",
}
UKRAINIAN = {
    "category": "Категорія",
    "power": "Номінальна потужність",
    "settlement": "Населений пункт",
    "facility_name": "Назва об’єкта",  # noqa: RUF001
    "facility_kind": "Тип об’єкта",  # noqa: RUF001
    "quantity": "Кількість",
    "priority": "Пріоритет",
    "needed_by": "Потрібно до",
    "justification": "Обґрунтування",
    "contact_name": "Контактна особа",  # noqa: RUF001
    "contact_phone": "Телефон контактної особи",
    "contact_email": "Електронна пошта контактної особи",
    "submit": "Подати заявку",
    "diesel": "Дизель",
}


async def fill_generator_form(
    page: Page, labels: dict[str, str], *, settlement: str, needed_by: date | None = None
) -> None:
    """Choose "Generator" and fill every field of the new-request form."""
    await page.get_by_label(labels["category"]).select_option("generator")
    await page.get_by_label(labels["power"]).fill("250")  # appears when htmx swaps the category's fields
    await page.get_by_role("checkbox", name=labels["diesel"]).check()
    await page.get_by_label(labels["settlement"]).fill(settlement)
    await page.get_by_label(labels["facility_name"]).fill("Водоканал, насосна станція №2")
    await page.get_by_label(labels["facility_kind"]).select_option("water_utility")
    await page.get_by_label(labels["quantity"]).fill("2")
    await page.get_by_label(labels["priority"]).select_option("critical")
    await page.get_by_label(labels["needed_by"]).fill(
        (needed_by or date.today() + timedelta(days=20)).isoformat()
    )
    await page.get_by_label(labels["justification"]).fill("Pumping station without grid power.")
    await page.get_by_label(labels["contact_name"]).fill("Олена Коваль")
    await page.get_by_label(labels["contact_phone"]).fill("+380 57 700 00 00")
    await page.get_by_label(labels["contact_email"]).fill("olena@example.org")
