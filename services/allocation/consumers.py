"""Events the allocation service consumes: demand from the requests service; every stream, for reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation import demands
from services.allocation.reports import projection
from services.allocation.settings import Policy
from shared.consumer import Handler, Subscription
from shared.events.envelope import CloudEvent
from shared.events.payloads import (
    AllocationApproved,
    AllocationDelivered,
    AllocationDispatched,
    AllocationExpired,
    AllocationProposed,
    AllocationRejected,
    AllocationReleased,
    InventoryAdjusted,
    InventoryRegistered,
    InventoryWithdrawn,
    Payload,
    RequestCancelled,
    RequestStatusChanged,
    RequestSubmitted,
    RequestUpdated,
    RequestWaitlisted,
)

REPORTS_GROUP = "allocation-reports"


def subscriptions(policy: Policy) -> list[Subscription]:
    """Every consumer group of the service: matching's, and the reports' projection."""
    return [subscription(policy), reports_subscription()]


def subscription(policy: Policy) -> Subscription:
    """The ``allocation`` consumer group on the requests stream, its handlers bound to the policy."""

    async def on_request_submitted(
        payload: RequestSubmitted, *, event: CloudEvent, session: AsyncSession
    ) -> None:
        """A new request: record its demand and match it."""
        await demands.record_demand(session, payload, policy=policy, cause=event)

    async def on_requests_submitted(
        submitted: Sequence[tuple[Payload, CloudEvent]], *, session: AsyncSession
    ) -> None:
        """New requests of one poll, together: their demands recorded, each category's matched at once."""
        batch = [(cast(RequestSubmitted, payload), event) for payload, event in submitted]
        await demands.record_demands(session, batch, policy=policy)

    async def on_request_updated(
        payload: RequestUpdated, *, event: CloudEvent, session: AsyncSession
    ) -> None:
        """A new priority: the order of service changes for its unmet units."""
        await demands.change_priority(session, payload, policy=policy, cause=event)

    async def on_request_cancelled(
        payload: RequestCancelled, *, event: CloudEvent, session: AsyncSession
    ) -> None:
        """A cancelled request: release what was not dispatched and re-match the freed stock."""
        await demands.cancel_demand(session, payload, policy=policy, cause=event)

    handlers: dict[type[Payload], Handler] = {
        RequestSubmitted: on_request_submitted,
        RequestUpdated: on_request_updated,
        RequestCancelled: on_request_cancelled,
    }
    return Subscription(
        group="allocation",
        streams=("requests",),
        handlers=handlers,
        batch_handlers={RequestSubmitted: on_requests_submitted},
    )


def reports_subscription() -> Subscription:
    """The ``allocation-reports`` group: the reports' projection, apart so report load never delays matching.

    Its own group has its own offsets and processed events: resetting them replays the topics and
    rebuilds the projection without touching matching.
    """
    handlers: dict[type[Payload], Handler] = {
        RequestSubmitted: projection.request_submitted,
        RequestUpdated: projection.request_updated,
        RequestStatusChanged: projection.request_status_changed,
        RequestCancelled: projection.request_cancelled,
        RequestWaitlisted: projection.request_waitlisted,
        InventoryRegistered: projection.inventory_registered,
        InventoryAdjusted: projection.inventory_adjusted,
        InventoryWithdrawn: projection.inventory_withdrawn,
        AllocationProposed: projection.allocation_proposed,
        AllocationApproved: projection.allocation_approved,
        AllocationRejected: projection.allocation_rejected,
        AllocationExpired: projection.allocation_expired,
        AllocationReleased: projection.allocation_released,
        AllocationDispatched: projection.allocation_dispatched,
        AllocationDelivered: projection.allocation_delivered,
    }
    return Subscription(
        group=REPORTS_GROUP, streams=("requests", "inventory", "allocations"), handlers=handlers
    )
