"""Use cases of the requests service; every write stages its events in the same transaction."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.requests.domain import Quantities, derive_status, format_ref
from services.requests.models import RefCounter, Request, TimelineEntry
from services.requests.schemas import RequestCreate
from shared.auth import Principal
from shared.catalog import SpecError, validate_request_specs
from shared.events.envelope import CloudEvent
from shared.events.payloads import Facility, RequestSubmitted
from shared.outbox import emit
from shared.problems import Problem, invalid_field

SOURCE = "requests"


async def submit_request(*, session: AsyncSession, body: RequestCreate, principal: Principal) -> Request:
    """Record a new request and its ``request.submitted`` event atomically."""
    if principal.role == "region_admin" and body.region != principal.region:
        raise Problem(403, "Forbidden", f"a region_admin of {principal.region} cannot file for {body.region}")
    try:
        specs = validate_request_specs(body.category, body.specs)
    except SpecError as exc:
        raise invalid_field(f"body.{exc.field}", exc.message) from exc
    now = datetime.now(UTC)
    request = Request(
        ref=format_ref(body.region, now.year, await _next_number(session, body.region, now.year)),
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
        created_by=principal.sub,
        created_at=now,
    )
    session.add(request)
    event = emit(
        session,
        RequestSubmitted(
            request_id=request.id,
            ref=request.ref,
            region=request.region,
            settlement=request.settlement,
            facility=Facility(name=request.facility_name, kind=body.facility.kind),
            category=request.category,
            specs=specs,
            quantity=request.quantity,
            priority=body.priority,
            needed_by=request.needed_by,
            submitted_at=now,
            created_by=principal.sub,
        ),
        source=SOURCE,
    )
    add_timeline(session, request, event, f"Request {request.ref} submitted for {request.quantity} unit(s)")
    return request


async def _next_number(session: AsyncSession, region: str, year: int) -> int:
    """Issue the next tracking number for a region and year: one atomic upsert, safe under concurrency."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(RefCounter)
        .values(region=region, year=year, last=1)
        .on_conflict_do_update(index_elements=["region", "year"], set_={"last": col(RefCounter.last) + 1})
        .returning(col(RefCounter.last))
    )
    return int((await session.execute(statement)).scalar_one())


def add_timeline(session: AsyncSession, request: Request, event: CloudEvent, summary: str) -> None:
    """Append an event to the request's timeline."""
    session.add(
        TimelineEntry(
            request_id=request.id,
            event_id=event.id,
            event_type=event.type,
            occurred_at=event.time,
            summary=summary,
            data=event.data,
        )
    )


def refresh_status(request: Request) -> None:
    """Recompute the stored status from the stored quantities."""
    request.status = derive_status(quantities_of(request), cancelled=request.cancelled_at is not None)


def quantities_of(request: Request) -> Quantities:
    """The request's quantities as a domain value."""
    return Quantities(
        requested=request.quantity,
        proposed=request.proposed,
        approved=request.approved,
        dispatched=request.dispatched,
        delivered=request.delivered,
        waitlisted=request.waitlisted,
    )


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
    """Every event that touched the request, oldest first."""
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
) -> tuple[list[Request], str | None]:
    """Newest first, keyset-paginated on (created_at, id) so concurrent inserts never shift pages."""
    if principal.role == "donor":
        raise Problem(403, "Forbidden", "donors see requests only through their allocations")
    statement = select(Request)
    if principal.role == "region_admin":
        if region is not None and region != principal.region:
            raise Problem(403, "Forbidden", f"a region_admin of {principal.region} cannot list {region}")
        region = principal.region
    for column, value in (
        (Request.region, region),
        (Request.status, status),
        (Request.category, category),
        (Request.priority, priority),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if created_after is not None:
        statement = statement.where(col(Request.created_at) > created_after)
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        statement = statement.where(sa.tuple_(col(Request.created_at), col(Request.id)) < (at, last_id))
    statement = statement.order_by(col(Request.created_at).desc(), col(Request.id).desc()).limit(limit + 1)
    rows = list((await session.exec(statement)).all())
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def encode_cursor(request: Request) -> str:
    """Opaque cursor pointing after this request."""
    raw = f"{request.created_at.isoformat()}|{request.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """Inverse of encode_cursor; 400 for anything else."""
    try:
        at, last_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), UUID(last_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_field("query.cursor", "not a cursor returned by this API") from exc
