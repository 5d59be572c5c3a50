"""Request pages: the list with filters and search, the catalog-driven new-request form, and filing it."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRouter

from services.console import domain, request_form
from services.console.api.frame import (
    CsrfChecked,
    PageForbidden,
    Visitor,
    clients_of,
    redirect,
    render,
    role_in,
)
from services.console.clients import ServiceRefused
from shared.catalog import all_categories
from shared.geography import all_regions

router = APIRouter(include_in_schema=False)
REF_PATTERN = re.compile(r"^UA[0-9]{2}-[0-9]{4}-[0-9]{6}$", re.IGNORECASE)
LIST_FILTERS = ("status", "category", "priority", "region")
KEY_REUSED = domain.N_(
    "This form was already sent with other values. Open a new form to file another request."
)
SEARCH_TOO_LONG = domain.N_("Search for at most 100 characters.")


# Region admins, coordinators and admins see requests; donors only through their allocations.
ReaderDep = Annotated[Visitor, role_in("region_admin", "coordinator", "admin")]


def choices(locale: domain.Locale) -> dict[str, Any]:
    """What the filters and the form offer: categories and regions in the page's language, the fixed lists."""
    categories = [(c.name, c.name_uk if locale == "uk" else c.name_en) for c in all_categories()]
    regions = [(r.code, r.name_uk if locale == "uk" else r.name_en) for r in all_regions()]
    return {
        "categories": categories,
        "category_names": dict(categories),
        "regions": regions,
        "region_names": dict(regions),
        "facility_kinds": request_form.FACILITY_KINDS,
        "priorities": request_form.PRIORITIES,
        "statuses": request_form.STATUSES,
        "choice_labels": request_form.CHOICES,
    }


def search_params(search: str) -> dict[str, str]:
    """A typed tracking code looks the request up by ``ref``; anything else is free text (``q``)."""
    search = search.strip()
    if not search:
        return {}
    return {"ref": search} if REF_PATTERN.match(search) else {"q": search}


@router.get("/requests")
async def requests_page(request: Request, visitor: ReaderDep) -> Response:
    shown = {name: request.query_params.get(name, "").strip() for name in (*LIST_FILTERS, "search")}
    if visitor.person.account.role == "region_admin":
        shown["region"] = ""  # the requests service keeps a region admin in its region
    params = {name: value for name, value in shown.items() if value and name in LIST_FILTERS}
    error = None
    items = []
    try:
        items = await clients_of(request).requests.requests(
            visitor.caller(), **params, **search_params(shown["search"])
        )
    except ServiceRefused as exc:
        if exc.status != 422:
            raise
        error = SEARCH_TOO_LONG if len(shown["search"]) > 100 else request_form.INVALID
    context = {"items": items, "shown": shown, "error": error, **choices(visitor.locale)}
    return await render(request, "requests.html", context)


def _form_context(
    visitor: Visitor,
    form: dict[str, list[str]],
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The new-request form as typed, with a fresh Idempotency-Key for this rendering."""
    account = visitor.person.account
    if account.role == "region_admin":
        form["region"] = [account.region or ""]
    category = (form.get("category") or [""])[0]
    return {
        "form": form,
        "value": lambda name: (form.get(name) or [""])[0],
        "errors": errors or {},
        "spec_fields": request_form.spec_fields(category, visitor.locale),
        "idempotency_key": str(uuid.uuid4()),
        "region_fixed": account.role == "region_admin",
        **choices(visitor.locale),
    }


@router.get("/requests/new")
async def new_request_page(request: Request, visitor: ReaderDep, category: str = "") -> Response:
    form = {"category": [category], "priority": ["medium"]}
    return await render(request, "requests_new.html", _form_context(visitor, form))


@router.get("/requests/new/fields")
async def spec_fields_fragment(request: Request, visitor: ReaderDep, category: str = "") -> Response:
    """The chosen category's attribute fields, swapped in by htmx when "Category" changes."""
    context = _form_context(visitor, {"category": [category]})
    return await render(request, "fragments/request_spec_fields.html", context)


@router.post("/requests", dependencies=[CsrfChecked])
async def file_request(request: Request, visitor: ReaderDep) -> Response:
    raw = await request.form()
    form = {name: [str(v) for v in raw.getlist(name)] for name in raw if name != "csrf_token"}
    if "show_fields" in form:  # without JavaScript, "Show fields" redraws the form for the chosen category
        return await render(request, "requests_new.html", _form_context(visitor, form))
    account = visitor.person.account
    if account.role == "region_admin":
        form["region"] = [account.region or ""]
    body, errors = request_form.request_body(form, locale=visitor.locale)
    if not errors:
        key = (form.get("idempotency_key") or [""])[0] or str(uuid.uuid4())
        try:
            filed = await clients_of(request).requests.file_request(
                visitor.caller(), body, idempotency_key=key
            )
        except ServiceRefused as exc:
            if exc.status == 403:
                raise PageForbidden from exc
            if exc.status == 409:
                errors = {"": KEY_REUSED}
            elif exc.status == 422:
                errors = request_form.field_errors(exc.errors)
            else:
                raise
        else:
            return redirect(f"/requests/{filed.id}")
    return await render(request, "requests_new.html", _form_context(visitor, form, errors), status_code=422)
