"""A report's rows as JSON values, CSV text (with a header row) or an XLSX workbook with typed cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

_STAGES = ("proposed", "approved", "dispatched", "delivered", "rejected_on_receipt")
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "unmet-need": (
        "region",
        "front_line",
        "category",
        "requests",
        "requested",
        "delivered",
        "in_pipeline",
        "unmet",
        "waitlisted_requests",
        "oldest_submitted_on",
        "oldest_wait_days",
    ),
    "donor-fulfilment": (
        "donor_id",
        "donor_name_en",
        "donor_name_uk",
        "programme_id",
        "programme_name_en",
        "programme_name_uk",
        "currency",
        *(f"{kind}_{stage}" for stage in _STAGES for kind in ("units", "value")),
        "facilities_served",
        "median_days_approval_to_delivery",
    ),
    "lead-times": ("stage", "count", "p50_hours", "p90_hours"),
    "stock": (
        "category",
        "region",
        "front_line",
        "lots",
        "free_units",
        "max_days_idle",
        "proposals_expiring_24h",
        "units_expiring_24h",
    ),
}


def money_text(amount: Decimal) -> str:
    """Decimal text without exponent or trailing zeros (``1500.5``, ``3000``)."""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def json_value(value: Any) -> Any:
    """Money as decimal text (as the lots' ``unit_value``), dates as ISO 8601."""
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def json_rows(name: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows with the report's columns, in order, as JSON values."""
    return [{column: json_value(row[column]) for column in COLUMNS[name]} for row in rows]


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json_value(value)


def csv_text(name: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """A header row of column names, then one line per row (empty cells for nulls)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS[name])
    for row in rows:
        writer.writerow([_csv_value(row[column]) for column in COLUMNS[name]])
    return out.getvalue()


def _cell(value: Any) -> Any:
    # Excel has no time zones: a UTC time is written as its naive UTC wall-clock time.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def xlsx_bytes(name: str, rows: Sequence[Mapping[str, Any]], about: Mapping[str, Any]) -> bytes:
    """A workbook: sheet ``report`` (numbers as numbers, money as numbers, dates as dates) and sheet
    ``about`` (the report's name, when it was made, its filters)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "report"
    columns = COLUMNS[name]
    sheet.append(list(columns))
    for row in rows:
        sheet.append([_cell(row[column]) for column in columns])
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, len(column) + 2)
    _format_dates(sheet)
    about_sheet = workbook.create_sheet("about")
    for key, value in about.items():
        about_sheet.append([key, _cell(value)])
    _format_dates(about_sheet)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _format_dates(sheet: Any) -> None:
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
