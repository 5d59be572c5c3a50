"""``/v1/reports/…``: unmet need, donor fulfilment, lead times and stock, as JSON, CSV or XLSX."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.allocation.reports import export, queries
from services.allocation.reports.figures import Filters
from services.allocation.reports.scope import scoped
from services.allocation.schemas import problems
from shared.auth import CurrentPrincipal
from shared.catalog import get_category
from shared.db import utcnow
from shared.events.payloads import Priority
from shared.fields import CATEGORY_ENUM, REGION_ENUM, IsoDate
from shared.geography import get_region
from shared.identifiers import DONOR_ID_MAX, DONOR_ID_PATTERN
from shared.problems import invalid_field, reject_unknown_query
from shared.service import SessionDep

router = APIRouter(prefix="/v1/reports", tags=["reports"], dependencies=[Depends(reject_unknown_query)])
Format = Literal["json", "csv", "xlsx"]
Identifier = Annotated[str | None, Query(min_length=1, max_length=DONOR_ID_MAX, pattern=DONOR_ID_PATTERN)]
EXPORTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: JSON by default; `format=csv` (header row) or `format=xlsx`, a download",
        "content": {export.CSV_MEDIA_TYPE: {}, export.XLSX_MEDIA_TYPE: {}},
    },
    **problems(401, 403, 422),
}


async def report_filters(
    start: Annotated[IsoDate | None, Query(alias="from", description="First day (UTC) of the period")] = None,
    end: Annotated[IsoDate | None, Query(alias="to", description="Last day (UTC) of the period")] = None,
    region: Annotated[str | None, Query(min_length=1, max_length=8, json_schema_extra=REGION_ENUM)] = None,
    category: Annotated[
        str | None, Query(min_length=1, max_length=40, json_schema_extra=CATEGORY_ENUM)
    ] = None,
    donor: Identifier = None,
    programme: Identifier = None,
    priority: Priority | None = None,
    front_line: bool | None = None,
) -> Filters:
    """The filters every report reads; unknown regions and categories and a reversed period are 422."""
    if region is not None and get_region(region) is None:
        raise invalid_field("query.region", f"unknown region {region!r}; use an ISO 3166-2:UA code")
    if category is not None and get_category(category) is None:
        raise invalid_field("query.category", f"unknown category {category!r}")
    if start is not None and end is not None and end < start:
        raise invalid_field("query.to", "the period ends before it starts")
    return Filters(
        start=start,
        end=end,
        region=region,
        category=category,
        donor_id=donor,
        programme_id=programme,
        priority=priority,
        front_line=front_line,
    )


ReportFilters = Annotated[Filters, Depends(report_filters)]


async def _answer(
    name: str, filters: Filters, principal: CurrentPrincipal, session: SessionDep, fmt: Format
) -> Any:
    applied = scoped(name, filters, principal)
    now = utcnow()
    rows = await queries.report(session=session, name=name, filters=applied, now=now)  # read only
    about = {
        "report": name,
        "generated_at": now,
        "from": applied.start,
        "to": applied.end,
        "region": applied.region,
        "category": applied.category,
        "donor": applied.donor_id,
        "programme": applied.programme_id,
        "priority": applied.priority,
        "front_line": applied.front_line,
    }
    stem = f"{name}-{now.date().isoformat()}"
    if fmt == "csv":
        return Response(
            export.csv_text(name, rows),
            media_type=export.CSV_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
        )
    if fmt == "xlsx":
        return Response(
            export.xlsx_bytes(name, rows, about),
            media_type=export.XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
        )
    filters_out = {
        key: export.json_value(value) for key, value in about.items() if key not in ("report", "generated_at")
    }
    return {
        "report": name,
        "generated_at": now.isoformat(),
        "filters": filters_out,
        "items": export.json_rows(name, rows),
    }


FormatQuery = Annotated[Format, Query(alias="format", description="json (default), csv or xlsx")]


@router.get("/unmet-need", summary="Unmet need by region and category", responses=EXPORTS)
async def unmet_need(
    filters: ReportFilters, principal: CurrentPrincipal, session: SessionDep, fmt: FormatQuery = "json"
) -> Any:
    return await _answer("unmet-need", filters, principal, session, fmt)


@router.get("/donor-fulfilment", summary="Units and value by donor and programme", responses=EXPORTS)
async def donor_fulfilment(
    filters: ReportFilters, principal: CurrentPrincipal, session: SessionDep, fmt: FormatQuery = "json"
) -> Any:
    return await _answer("donor-fulfilment", filters, principal, session, fmt)


@router.get("/lead-times", summary="p50 and p90 hours of each stage", responses=EXPORTS)
async def lead_times(
    filters: ReportFilters, principal: CurrentPrincipal, session: SessionDep, fmt: FormatQuery = "json"
) -> Any:
    return await _answer("lead-times", filters, principal, session, fmt)


@router.get("/stock", summary="Free stock by category and location region", responses=EXPORTS)
async def stock(
    filters: ReportFilters, principal: CurrentPrincipal, session: SessionDep, fmt: FormatQuery = "json"
) -> Any:
    return await _answer("stock", filters, principal, session, fmt)
