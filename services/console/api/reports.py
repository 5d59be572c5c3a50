"""``/reports`` (figures, charts, CSV and Excel downloads) and ``/needs`` (the donors' board of need)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from services.console import reports
from services.console.api.frame import PageForbidden, Visitor, clients_of, render, role_in
from services.console.clients import ServiceRefused, ServiceUnavailable
from services.console.schemas import Donor, Programme
from shared.identifiers import is_donor_id

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

ReaderDep = Annotated[Visitor, role_in("coordinator", "admin", "region_admin", "donor")]
NeedsDep = Annotated[Visitor, role_in("donor", "coordinator", "admin")]
StatementDep = Annotated[Visitor, role_in(*reports.STATEMENT_ROLES)]


def _scope(visitor: Visitor) -> str | None:
    """The region or donor the role's scope fixes, as the page and the file names show it."""
    account = visitor.person.account
    return {"region_admin": account.region, "donor": account.donor_id}.get(account.role)


async def _registry(request: Request, visitor: Visitor, *, donors: bool, programmes: bool) -> dict[str, Any]:
    """The donors and programmes the page's selects offer, in the caller's scope.

    Empty when the allocation service cannot answer: the report below then says so, and the selects still
    keep what the person chose.
    """
    allocation, caller = clients_of(request).allocation, visitor.caller()
    own = visitor.person.account.donor_id
    try:
        found_donors: list[Donor] = await allocation.donors(caller) if donors else []
        found_programmes: list[Programme] = (
            await allocation.programmes(caller, **({"donor_id": own} if own else {})) if programmes else []
        )
    except (ServiceUnavailable, ServiceRefused) as exc:
        log.warning("the report page's donors and programmes are unavailable", extra={"error": str(exc)})
        return {"donors": [], "programmes": []}
    return {"donors": found_donors, "programmes": found_programmes}


@router.get("/reports")
async def reports_page(request: Request, visitor: ReaderDep, report: str = "unmet-need") -> Response:
    role = visitor.person.account.role
    available = reports.reports_for(role)
    if report not in available:
        report = available[0]
    filters = reports.chosen_filters(request.query_params, report, role)
    context: dict[str, Any] = {
        "report": report,
        "available": available,
        "filters": filters,
        "fields": reports.filters_for(report, role),
        "fixed": reports.fixed_filter(role),
        "scope": _scope(visitor),
        "query": reports.query_string(filters),
        "rows": [],
        "bars": [],
        "down": False,
        "refused": False,
        "statement_months": [],
        **reports.page_labels(visitor.locale),
    }
    statement = report == "donor-fulfilment" and role in reports.STATEMENT_ROLES
    if statement:
        context["statement_months"] = reports.statement_months(datetime.now(UTC).date())
    context |= await _registry(
        request,
        visitor,
        donors="donor" in context["fields"] or (statement and role != "donor"),
        programmes="programme" in context["fields"],
    )
    status = 200
    try:
        body = await clients_of(request).allocation.report(visitor.caller(), report, filters)
    except ServiceUnavailable:
        context["down"], status = True, 503  # the form and tabs still show; the notice names the service
    except ServiceRefused as exc:
        if exc.status == 403:
            raise PageForbidden from exc
        context["refused"], status = True, exc.status
    else:
        context["rows"] = body["items"]
        context["generated_at"] = datetime.fromisoformat(body["generated_at"])
        context["bars"] = reports.chart_bars(report, body["items"], context["report_labels"])
    return await render(request, "reports.html", context, status_code=status)


@router.get("/reports/{report}/export")
async def export_report(
    request: Request, visitor: ReaderDep, report: str, fmt: Annotated[str, Query(alias="format")] = "csv"
) -> Response:
    """The API's CSV or XLSX of the report as filtered on the page, as a download."""
    role = visitor.person.account.role
    if report not in reports.reports_for(role) or fmt not in reports.EXPORT_FORMATS:
        raise HTTPException(404)
    filters = reports.chosen_filters(request.query_params, report, role)
    try:
        answer = await clients_of(request).allocation.report_file(visitor.caller(), report, filters, fmt)
    except ServiceRefused as exc:
        if exc.status == 403:
            raise PageForbidden from exc
        raise HTTPException(400) from exc
    name = reports.export_file_name(report, fmt, scope=_scope(visitor), today=datetime.now(UTC).date())
    media_type = answer.headers.get("content-type", reports.EXPORT_FORMATS[fmt])
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(answer.content, media_type=media_type, headers=headers)


@router.get("/reports/statement")
async def statement_file(
    request: Request, visitor: StatementDep, month: str = "", donor: str = ""
) -> Response:
    """A donor's monthly statement as the allocation service renders it (PDF), as a download."""
    own = visitor.person.account.donor_id
    donor = own or donor  # a donor's statement is always their own
    if not reports.MONTH.match(month) or not is_donor_id(donor):
        raise HTTPException(400)
    try:
        answer = await clients_of(request).allocation.report_file(
            visitor.caller(), "donor-statement", {"donor": donor, "month": month}, "pdf"
        )
    except ServiceRefused as exc:
        if exc.status == 403:
            raise PageForbidden from exc
        raise HTTPException(404 if exc.status == 404 else 400) from exc
    name = reports.statement_file_name(donor, month)
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(answer.content, media_type="application/pdf", headers=headers)


@router.get("/needs")
async def needs_page(request: Request, visitor: NeedsDep, region: str = "", category: str = "") -> Response:
    """Unmet need by region and equipment, without any request, facility or person: "Offer stock" on each."""
    role = visitor.person.account.role
    filters = reports.chosen_filters({"region": region, "category": category}, "unmet-need", role)
    context: dict[str, Any] = {
        "filters": filters,
        "board": [],
        "down": False,
        **reports.page_labels(visitor.locale),
    }
    status = 200
    try:
        body = await clients_of(request).allocation.report(visitor.caller(), "unmet-need", filters)
    except ServiceUnavailable:
        context["down"], status = True, 503
    else:
        context["board"] = reports.needs_board(body["items"])
    return await render(request, "needs.html", context, status_code=status)
