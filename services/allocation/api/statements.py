"""``/v1/reports/donor-statement`` (a donor's month as JSON or PDF) and ``/v1/reports/donor-statements``
(an admin issues a completed month's statements now; the statement job does it on its own after the 1st)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from services.allocation.donors import find_donor
from services.allocation.reports import issuing, queries
from services.allocation.reports.statement import MONTH_PATTERN, month_period
from services.allocation.schemas import problems
from shared.auth import CurrentPrincipal, Principal, require_roles
from shared.db import read_one_snapshot, utcnow
from shared.events.payloads import DonorStatementIssued
from shared.identifiers import DONOR_ID_MAX, DONOR_ID_PATTERN
from shared.problems import Problem, invalid_field, reject_unknown_query
from shared.service import RuntimeDep, SessionDep
from shared.statement import render_pdf

router = APIRouter(prefix="/v1/reports", tags=["reports"], dependencies=[Depends(reject_unknown_query)])
Admin = Annotated[Principal, Depends(require_roles("admin"))]
PDF_MEDIA_TYPE = "application/pdf"


class IssueStatements(BaseModel):
    """Which completed month's statements to issue."""

    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=MONTH_PATTERN, examples=["2026-11"], description="A completed month (UTC)")


class StatementsIssued(BaseModel):
    month: str
    issued: list[str] = Field(description="Donors whose statement this call issued")
    already_issued: list[str] = Field(description="Donors whose statement was issued before")


@router.get(
    "/donor-statement",
    summary="A donor's fulfilment statement for a month, as JSON or PDF",
    response_model=DonorStatementIssued,
    responses={
        200: {"description": "JSON by default; `format=pdf`, a download", "content": {PDF_MEDIA_TYPE: {}}},
        **problems(401, 403, 404, 422),
    },
)
async def donor_statement(
    principal: CurrentPrincipal,
    session: SessionDep,
    month: Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM (UTC); the current one so far")],
    donor: Annotated[
        str | None, Query(min_length=1, max_length=DONOR_ID_MAX, pattern=DONOR_ID_PATTERN)
    ] = None,
    fmt: Annotated[
        Literal["json", "pdf"], Query(alias="format", description="json (default) or pdf")
    ] = "json",
    lang: Annotated[Literal["uk", "en"], Query(description="The PDF's language")] = "uk",
) -> Any:
    donor_id = _readable_donor(principal, donor)
    now = utcnow()
    if month_period(month).start > now.date():
        raise invalid_field("query.month", "that month has not begun")
    await read_one_snapshot(session)
    found = await find_donor(session, donor_id)
    if found is None:
        raise Problem(404, "Not Found", f"no donor {donor_id}")
    made = await queries.donor_statement(session=session, donor=found, month=month, now=now)  # read only
    if fmt == "json":
        return made
    pdf = await asyncio.to_thread(render_pdf, made, lang)
    return Response(
        pdf,
        media_type=PDF_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="statement-{donor_id}-{month}.pdf"'},
    )


def _readable_donor(principal: Principal, donor: str | None) -> str:
    """As the donor-fulfilment report: a donor their own, coordinators and admins the one they name."""
    if principal.role == "region_admin":
        raise Problem(403, "Forbidden", "region admins read no donor's statement")
    if principal.role == "donor":
        own = principal.listing_donor(donor, of="statement")
        assert own is not None  # a donor's token always names its donor
        return own
    if donor is None:
        raise invalid_field("query.donor", "required: the donor whose statement to read")
    return donor


@router.post(
    "/donor-statements",
    summary="Issue a completed month's donor statements now (admin)",
    response_model=StatementsIssued,
    responses=problems(400, 401, 403, 413, 422),
)
async def issue_donor_statements(body: IssueStatements, _: Admin, runtime: RuntimeDep) -> StatementsIssued:
    now = utcnow()
    if not issuing.is_completed(body.month, now):
        raise invalid_field("body.month", "issue only a month that has ended (UTC)")
    done = await issuing.issue_statements(runtime.db, month=body.month, now=now)
    return StatementsIssued(month=done.month, issued=done.issued, already_issued=done.already_issued)
