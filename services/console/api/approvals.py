"""``/approvals``: the coordinator's queue of proposals, approved or rejected one by one or together."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, QueryParams

from services.console import stock
from services.console.api.frame import (
    CsrfChecked,
    Sections,
    Visitor,
    clients_of,
    redirect,
    render,
    role_in,
)
from services.console.clients import ServiceRefused
from services.console.schemas import Allocation

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


CoordinatorDep = Annotated[Visitor, role_in("coordinator", "admin")]


@dataclass(frozen=True)
class ProposalRow:
    """One line of the queue: the proposal, its time left, what the person typed, what became of it."""

    allocation: Allocation
    time_left: str | None
    selected: bool = False
    reason: str = ""
    outcome: str | None = None  # "approved", "rejected", or None while it awaits a decision
    error: str | None = None


def _typed(values: FormData | QueryParams) -> tuple[set[str], dict[str, str]]:
    """The ticked rows and the reasons typed so far (kept when the rows refresh)."""
    selected = {str(v) for v in values.getlist("selected")}
    reasons = {
        str(k).removeprefix("reason-"): str(v) for k, v in values.items() if str(k).startswith("reason-")
    }
    return selected, reasons


async def proposal_rows(
    request: Request,
    visitor: Visitor,
    *,
    selected: set[str] | None = None,
    reasons: dict[str, str] | None = None,
    acted: dict[UUID, ProposalRow] | None = None,
) -> list[ProposalRow]:
    """Proposals awaiting approval, most critical and oldest first, then the ones just decided."""
    waiting = await clients_of(request).allocation.allocations(visitor.caller(), status="proposed")
    now = datetime.now(UTC)
    acted = acted or {}
    rows = [
        acted.get(a.id)
        or ProposalRow(
            allocation=a,
            time_left=stock.time_left(a.expires_at, now=now, locale=visitor.locale),
            selected=str(a.id) in (selected or set()),
            reason=(reasons or {}).get(str(a.id), ""),
        )
        for a in stock.queue_order(waiting)
    ]
    shown = {row.allocation.id for row in rows}
    return rows + [row for allocation_id, row in acted.items() if allocation_id not in shown]


def _context(visitor: Visitor, rows: list[ProposalRow], **extra: Any) -> dict[str, Any]:
    return {"rows": rows, **stock.page_labels(visitor.locale), **extra}


@router.get("/approvals")
async def approvals_page(
    request: Request, visitor: CoordinatorDep, approved: int = 0, rejected: int = 0, failed: int = 0
) -> Response:
    rows = await proposal_rows(request, visitor)
    done = {"approved": approved, "rejected": rejected, "failed": failed}
    return await render(request, "approvals.html", _context(visitor, rows, done=done))


@router.get("/approvals/rows")
async def approval_rows(request: Request, visitor: CoordinatorDep) -> Response:
    """The queue's rows again (a notification arrived), keeping what the person ticked and typed."""
    selected, reasons = _typed(request.query_params)
    rows = await proposal_rows(request, visitor, selected=selected, reasons=reasons)
    return await render(request, "fragments/approval_rows.html", _context(visitor, rows))


def _decisions(form: FormData) -> list[tuple[str, UUID, str]]:
    """(approve | reject, allocation id, reason) for the row whose button was pressed, or every ticked row."""
    act = str(form.get("act", ""))
    step, _, one = act.partition(":")
    _, reasons = _typed(form)
    if step not in ("approve", "reject"):
        step, _, _ = act.partition("-")  # "approve-selected" / "reject-selected"
        ids = [str(v) for v in form.getlist("selected")]
        bulk_reason = str(form.get("reason", "")).strip()
    else:
        ids, bulk_reason = [one], ""
    if step not in ("approve", "reject"):
        return []
    decisions = []
    for raw in ids:
        try:
            allocation_id = UUID(raw)
        except ValueError:
            continue  # a tampered form; nothing to act on
        decisions.append((step, allocation_id, reasons.get(raw, "").strip() or bulk_reason))
    return decisions


@router.post("/approvals", dependencies=[CsrfChecked])
async def decide(request: Request, visitor: CoordinatorDep) -> Response:
    """Approve or reject one proposal or the ticked ones; htmx gets the rows, a plain form the page again."""
    form = await request.form()
    client = clients_of(request).allocation
    now = datetime.now(UTC)
    acted: dict[UUID, ProposalRow] = {}
    for step, allocation_id, reason in _decisions(form):
        try:
            body = {"reason": reason} if step == "reject" else None
            moved = await client.transition(visitor.caller(), allocation_id, step, body)
            acted[allocation_id] = ProposalRow(allocation=moved, time_left=None, outcome=moved.status)
        except ServiceRefused as exc:
            try:
                current = await client.allocation(visitor.caller(), allocation_id)
            except ServiceRefused:
                log.warning("decision on an unknown allocation", extra={"allocation_id": str(allocation_id)})
                continue  # not an allocation this person may see (a tampered form): nothing to show
            left = stock.time_left(current.expires_at, now=now, locale=visitor.locale)
            error = stock.REASON_MISSING if exc.status == 422 and step == "reject" else stock.DECISION_REFUSED
            acted[allocation_id] = ProposalRow(allocation=current, time_left=left, reason=reason, error=error)
    if request.headers.get("hx-request"):
        selected, reasons = _typed(form)
        rows = await proposal_rows(request, visitor, selected=selected, reasons=reasons, acted=acted)
        return await render(request, "fragments/approval_rows.html", _context(visitor, rows))
    counts = {
        "approved": sum(r.outcome == "approved" for r in acted.values()),
        "rejected": sum(r.outcome == "rejected" for r in acted.values()),
        "failed": sum(r.error is not None for r in acted.values()),
    }
    return redirect("/approvals?" + "&".join(f"{k}={v}" for k, v in counts.items()))


async def stock_home(request: Request, visitor: Visitor) -> dict[str, Any]:
    """Home for coordinators (proposals awaiting approval) and donors (approved allocations to dispatch)."""
    role = visitor.person.account.role
    if role not in ("coordinator", "admin", "donor"):
        return {}
    clients, caller, sections = clients_of(request), visitor.caller(), Sections()
    if role == "donor":
        to_dispatch, rows = (
            await sections.read(clients.allocation.allocations(caller, status="approved"), empty=[]),
            [],
        )
    else:
        to_dispatch, rows = (
            [],
            (await sections.read(proposal_rows(request, visitor), empty=[]))[: stock.HOME_ROWS],
        )
    recent = await sections.read(clients.notifications.inbox(caller, limit=stock.HOME_ROWS), empty=[])
    return {
        **stock.page_labels(visitor.locale),
        "to_dispatch": to_dispatch,
        "rows": rows,
        "recent": recent,
        "down": sections.down,
    }
