"""RFC 9457 problem details for every error, validation errors naming the field, body-size limit."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import TRANSIENT_DB_ERRORS

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error answered as ``application/problem+json``; extra members go into the body."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """Build the problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic errors as ``{"field": "body.contact.email", "message": ...}``."""
    result = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        result.append({"field": ".".join(location) or "body", "message": str(error.get("msg", "invalid"))})
    return result


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status, exc.title, exc.detail, instance=request.url.path, headers=exc.headers, **exc.extensions
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(
            400, "Malformed JSON", "the request body is not valid JSON (UTF-8)", instance=request.url.path
        )
    fields = field_errors(errors)
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return problem_response(422, "Invalid request", detail, instance=request.url.path, errors=fields)


# FastAPI's words when a body cannot be decoded at all (e.g. invalid UTF-8).
BODY_PARSE_ERROR = "There was an error parsing the body"


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
        return problem_response(
            400, "Malformed JSON", "the request body is not valid JSON (UTF-8)", instance=request.url.path
        )
    title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    return problem_response(
        exc.status_code, title, detail, instance=request.url.path, headers=getattr(exc, "headers", None)
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return problem_response(500, "Internal Server Error", "an unexpected error occurred; it has been logged")


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Nothing was written (the transaction never committed): the caller may retry as it is.
    log.warning("database unavailable", extra={"path": request.url.path, "error": f"{type(exc).__name__}"})
    response = problem_response(
        503, "Service Unavailable", "the database is unreachable or busy; nothing was written, retry shortly"
    )
    response.headers["Retry-After"] = "1"
    return response


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every 4xx/5xx as problem+json."""
    for error in TRANSIENT_DB_ERRORS:
        app.add_exception_handler(error, _on_database_unavailable)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)


class BodySizeLimit:
    """ASGI middleware: bodies over the limit get 413, whether declared or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        received = 0
        too_large = False
        rejected = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # The framework may turn the receive error into its own response; answer 413 instead.
            nonlocal rejected
            if not too_large:
                await send(message)
            elif not rejected:
                rejected = True
                await self._reject(scope, receive, send)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not rejected:
                await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "Payload Too Large", f"request bodies are limited to {self.max_bytes} bytes"
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def invalid_field(field: str, message: str) -> Problem:
    """A 422 naming one field, shaped like the validation errors FastAPI reports."""
    return Problem(
        422, "Invalid request", f"{field}: {message}", errors=[{"field": field, "message": message}]
    )


async def reject_unknown_query(request: Request) -> None:
    """Router dependency: a query parameter the route does not declare, or one that takes a single value
    given twice, is a 422, not silently ignored or silently the last one.

    Async though it awaits nothing, as every dependency here: FastAPI runs a plain ``def`` in a worker
    thread, a thread hop on every call (bench: profile of ``POST /v1/requests``).

    A typo such as ``?regoin=UA-63`` would otherwise list every region as if it were filtered, and
    ``?status=open&status=closed`` would show the closed ones only.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared = _query_params(route.dependant)
    given = request.query_params
    errors = [
        {"field": f"query.{name}", "message": "unknown query parameter"}
        for name in sorted(set(given) - set(declared))
    ]
    errors += [
        {"field": f"query.{name}", "message": "given more than once; it takes one value"}
        for name in sorted(set(given))
        if name in declared and not declared[name] and len(given.getlist(name)) > 1
    ]
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise Problem(422, "Invalid request", detail, errors=errors)


def _query_params(dependant: Dependant) -> dict[str, bool]:
    """The query parameters a route declares, each with whether it takes several values (a list)."""
    names = {param.alias: _takes_many(param.field_info.annotation) for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_params(sub)
    return names


def _takes_many(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return origin in (Union, UnionType) and any(_takes_many(arg) for arg in get_args(annotation))


# The shape of every problem body, for the OpenAPI documents (extensions beyond RFC 9457 are optional).
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "current_status": {"type": "string"},
        "committed": {"type": "integer"},
    },
}
PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed JSON (including invalid UTF-8)",
    401: "Missing or invalid bearer token",
    403: "The caller's role or scope does not allow this",
    404: "Nothing with this id visible to the caller",
    409: "Conflicts with the current state",
    413: "Body larger than the configured limit",
    422: "A field is invalid; `errors` names each one",
    429: "Too many requests or open streams; `Retry-After` says when to try again",
}


def problem_responses(
    *statuses: int, described: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem details with these status codes."""
    descriptions = {**PROBLEM_DESCRIPTIONS, **(described or {})}
    return {
        status: {
            "description": descriptions[status],
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }
