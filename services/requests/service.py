"""Use cases of the requests service; every write stages its events in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests import events
from services.requests.domain import TERMINAL_STATUSES, format_ref, search_key, search_text, summarize
from services.requests.models import RefCounter, Request, TimelineEntry
from services.requests.progress import add_timeline, locked_request, settle
from services.requests.schemas import RequestCreate
from shared.auth import Principal
from shared.catalog import SpecError, get_category, validate_request_specs
from shared.db import dialect_insert
from shared.events.payloads import Priority
from shared.geography import get_region
from shared.outbox import emit
from shared.pagination import fetch_page, where_equal
from shared.problems import Problem, invalid_field

MAX_SUBJECT_LENGTH = 255  # what OpenID Connect allows a ``sub``; the columns that record authors hold that


def author(principal: Principal) -> str:
    """The caller's subject as recorded on what it writes; 403 if no column could hold it."""
    if len(principal.sub) > MAX_SUBJECT_LENGTH:
        raise Problem(403, "Forbidden", f"token subject longer than {MAX_SUBJECT_LENGTH} characters")
    return principal.sub


async def submit_request(*, session: AsyncSession, body: RequestCreate, principal: Principal) -> Request:
    """Record a new request and its ``request.submitted`` event atomically."""
    if principal.role == "region_admin" and body.region != principal.region:
        raise Problem(403, "Forbidden", f"a region_admin of {principal.region} cannot file for {body.region}")
    try:
        specs = validate_request_specs(body.category, body.specs)
    except SpecError as exc:
        raise invalid_field(f"body.{exc.field}", exc.message) from exc
    now = datetime.now(UTC)
    ref = format_ref(body.region, now.year, await _next_number(session, body.region, now.year))
    request = Request(
        ref=ref,
        region=body.region,
        settlement=body.settlement,
        facility_name=body.facility.name,
        facility_kind=body.facility.kind,
        category=body.category,
        specs=specs,
        quantity=body.quantity,
        priority=body.priority,
        needed_by=body.needed_by,
        justification=body.justification,
        contact=body.contact.model_dump(mode="json", exclude_none=True),
        created_by=author(principal),
        created_at=now,
        search_text=search_text(ref, body.settlement, body.facility.name),
    )
    session.add(request)
    submitted = events.request_submitted(request, submitted_at=now)
    event = emit(session, submitted, source=events.SOURCE)
    await session.flush()  # the timeline entry references the request row
    await add_timeline(session, request, event, summarize(submitted))
    return request


async def _next_number(session: AsyncSession, region: str, year: int) -> int:
    """Issue the next tracking number for a region and year: one atomic upsert, safe under concurrency."""
    statement = (
        dialect_insert(session)(RefCounter)
        .values(region=region, year=year, last=1)
        .on_conflict_do_update(index_elements=["region", "year"], set_={"last": col(RefCounter.last) + 1})
        .returning(col(RefCounter.last))
    )
    return int((await (await session.connection()).execute(statement)).scalar_one())


async def cancel_request(
    *, session: AsyncSession, request_id: UUID, reason: str, principal: Principal
) -> Request:
    """Cancel, or close short after a partial delivery; ``request.cancelled`` tells allocation to release."""
    request = await _writable_request(session, request_id, principal)
    request.cancelled_at = datetime.now(UTC)
    request.cancelled_by = author(principal)
    request.cancel_reason = reason
    cancelled = events.request_cancelled(request)
    event = emit(session, cancelled, source=events.SOURCE)
    await add_timeline(session, request, event, summarize(cancelled))
    await settle(session, request, cause=event)
    return request


async def change_priority(
    *, session: AsyncSession, request_id: UUID, priority: Priority, principal: Principal
) -> Request:
    """Re-prioritise an open request; ``request.updated`` lets matching re-order. Same priority: no event."""
    request = await _writable_request(session, request_id, principal)
    if request.priority == priority:
        return request
    previous = request.priority
    request.priority = priority
    updated = events.request_updated(request, previous_priority=previous, updated_by=principal.sub)
    event = emit(session, updated, source=events.SOURCE)
    await add_timeline(session, request, event, summarize(updated))
    return request


async def _writable_request(session: AsyncSession, request_id: UUID, principal: Principal) -> Request:
    """The request, locked, visible to the caller (404 otherwise) and still open (409 otherwise)."""
    request = await locked_request(session, request_id)
    if request is None or not _may_read(principal, request):
        raise Problem(404, "Not Found", f"no request {request_id}")
    if request.status in TERMINAL_STATUSES:
        raise Problem(
            409,
            "Conflict",
            f"request {request.ref} is already {request.status}",
            current_status=request.status,
        )
    return request


async def get_visible_request(*, session: AsyncSession, request_id: UUID, principal: Principal) -> Request:
    """A request the caller may see; 404 otherwise (existence is not revealed across regions)."""
    request = await session.get(Request, request_id)
    if request is None or not _may_read(principal, request):
        raise Problem(404, "Not Found", f"no request {request_id}")
    return request


def _may_read(principal: Principal, request: Request) -> bool:
    if principal.sees_everything:
        return True
    return principal.role == "region_admin" and principal.region == request.region


async def timeline_of(*, session: AsyncSession, request_id: UUID) -> list[TimelineEntry]:
    """Every event that touched the request, oldest first (by event time, whatever the arrival order)."""
    result = await session.exec(
        select(TimelineEntry)
        .where(TimelineEntry.request_id == request_id)
        .order_by(col(TimelineEntry.occurred_at), col(TimelineEntry.id))
    )
    return list(result.all())


async def list_requests(
    *,
    session: AsyncSession,
    principal: Principal,
    region: str | None,
    status: str | None,
    category: str | None,
    priority: str | None,
    created_after: datetime | None,
    limit: int,
    cursor: str | None,
    ref: str | None = None,
    text: str | None = None,
) -> tuple[list[Request], str | None]:
    """Newest first, keyset-paginated on (created_at, id); ``ref`` exact, ``text`` a substring, any case."""
    if principal.role == "donor":
        raise Problem(403, "Forbidden", "donors see requests only through their allocations")
    if region is not None and get_region(region) is None:
        raise invalid_field("query.region", f"unknown region {region!r}")
    if category is not None and get_category(category) is None:
        raise invalid_field("query.category", f"unknown category {category!r}")
    region = principal.listing_region(region)
    statement = select(Request)
    statement = where_equal(
        statement,
        (Request.region, region),
        (Request.status, status),
        (Request.category, category),
        (Request.priority, priority),
    )
    if created_after is not None:
        # A timestamp without an offset is read as UTC.
        aware = created_after if created_after.tzinfo else created_after.replace(tzinfo=UTC)
        statement = statement.where(col(Request.created_at) > aware)
    if ref is not None:
        statement = statement.where(col(Request.ref) == ref.strip().upper())  # refs are issued upper-case
    if text is not None and search_key(text):
        statement = statement.where(col(Request.search_text).contains(search_key(text), autoescape=True))
    return await fetch_page(session, statement, limit=limit, cursor=cursor)
