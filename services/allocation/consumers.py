"""Events the allocation service consumes: demand from the requests service."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.allocation import demands
from services.allocation.settings import Policy
from shared.consumer import Handler, Subscription
from shared.events.envelope import CloudEvent
from shared.events.payloads import Payload, RequestCancelled, RequestSubmitted, RequestUpdated


def subscription(policy: Policy) -> Subscription:
    """The ``allocation`` consumer group on the requests stream, its handlers bound to the policy."""

    async def on_request_submitted(
        payload: RequestSubmitted, *, event: CloudEvent, session: AsyncSession
    ) -> None:
        """A new request: record its demand and match it."""
        await demands.record_demand(session, payload, policy=policy, cause=event)

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
    return Subscription(group="allocation", streams=("requests",), handlers=handlers)
