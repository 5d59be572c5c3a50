"""The allocation service: donor inventory, matching, proposals, approvals, dispatch, delivery."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.allocation import consumers
from services.allocation.api import allocations, donors, lots, reports
from services.allocation.continuation import continuation_job
from services.allocation.domain import IllegalTransition
from services.allocation.expiry import expiry_job
from services.allocation.ledger import StockConflict
from services.allocation.settings import AllocationSettings, Policy
from shared.admin import admin
from shared.problems import problem_response
from shared.service import ServiceDefinition, create_service_app


def create_app(settings: AllocationSettings | None = None) -> FastAPI:
    """Build the app from settings (the environment by default)."""
    settings = settings or AllocationSettings()
    policy = Policy.from_settings(settings)
    definition = ServiceDefinition(
        name="allocation",
        title="Vidnova allocation service",
        routers=[
            lots.router,
            allocations.router,
            allocations.matching_router,
            donors.router,
            donors.programmes_router,
            reports.router,
            admin,
        ],
        subscriptions=consumers.subscriptions(policy),
        jobs=[expiry_job(policy, settings.expiry), continuation_job(policy)],
    )
    app = create_service_app(definition, settings)
    app.state.allocation_policy = policy
    app.add_exception_handler(IllegalTransition, _on_illegal_transition)
    app.add_exception_handler(StockConflict, _on_stock_conflict)
    return app


async def _on_illegal_transition(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IllegalTransition)
    return problem_response(409, "Conflict", str(exc), instance=request.url.path, current_status=exc.current)


async def _on_stock_conflict(request: Request, exc: Exception) -> JSONResponse:
    # Unreachable while every stock-changing write holds its category's lock; kept as a clear answer.
    return problem_response(
        409, "Conflict", f"stock changed concurrently, retry: {exc}", instance=request.url.path
    )
