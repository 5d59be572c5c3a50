"""Small typed clients of the three services, over one shared httpx client, as the signed-in person."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import httpx

from services.console.schemas import (
    Allocation,
    Donor,
    Lot,
    Notification,
    Programme,
    RequestView,
    Subscription,
)
from shared.auth import Role, mint_token

UpstreamName = Literal["requests", "allocation", "notifications"]


class ServiceUnavailable(RuntimeError):
    """A service did not answer (down, timed out, or answered 5xx); the page names it."""

    def __init__(self, service: UpstreamName, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


class ServiceRefused(RuntimeError):
    """A service answered with a 4xx problem; ``status`` and ``detail`` from its answer."""

    def __init__(
        self, service: UpstreamName, status: int, detail: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(f"{service} answered {status}: {detail}")
        self.service, self.status, self.detail = service, status, detail
        self.errors = errors or []  # problem+json ``errors[]``: {"field": ..., "message": ...}


@dataclass(frozen=True)
class Caller:
    """The person the console acts for: the claims of the short-lived token it signs."""

    sub: str
    role: Role
    region: str | None
    donor_id: str | None
    locale: str
    # OpenID Connect mode: the person's own access token, forwarded instead of one the console signs.
    access_token: str | None = None


class TokenSigner:
    """Signs the ≤ 5-minute token each call carries (SPEC §12); forwards the person's own in OIDC mode."""

    def __init__(self, *, secret: Callable[[], str], ttl_s: int) -> None:
        self._secret = secret  # read on first use: OIDC mode may run without a signing secret
        self._ttl_s = ttl_s

    def token_for(self, caller: Caller) -> str:
        if caller.access_token is not None:
            return caller.access_token
        return mint_token(
            secret=self._secret(),
            sub=caller.sub,
            role=caller.role,
            region=caller.region,
            donor_id=caller.donor_id,
            ttl_s=self._ttl_s,
        )


class ServiceClient:
    """Calls to one service with the person's token; failures become typed errors."""

    def __init__(
        self, *, name: UpstreamName, base_url: str, http: httpx.AsyncClient, signer: TokenSigner
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.signer = signer

    def headers(self, caller: Caller) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.signer.token_for(caller)}", "Accept-Language": caller.locale}

    async def call(
        self, method: str, path: str, caller: Caller, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """The JSON answer of one call; ServiceUnavailable or ServiceRefused when it fails."""
        response = await self.send(method, path, caller, headers=headers, **kwargs)
        return response.json() if response.content else None

    async def send(
        self, method: str, path: str, caller: Caller, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """The answer of one call as it came (a download's bytes); failures as for ``call``."""
        try:
            response = await self.http.request(
                method, self.base_url + path, headers={**self.headers(caller), **(headers or {})}, **kwargs
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(self.name, type(exc).__name__) from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(self.name, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            problem = response.json() if response.headers.get("content-type", "").endswith("json") else {}
            detail = problem.get("detail", "") if problem else response.text[:200]
            errors = problem.get("errors") if isinstance(problem.get("errors"), list) else None
            raise ServiceRefused(self.name, response.status_code, str(detail), errors)
        return response


class NotificationsClient(ServiceClient):
    """The person's inbox and its live stream."""

    async def inbox(self, caller: Caller, *, unread: bool = False, limit: int = 50) -> list[Notification]:
        body = await self.call("GET", "/v1/notifications", caller, params={"unread": unread, "limit": limit})
        return [Notification.model_validate(item) for item in body["items"]]

    async def unread_count(self, caller: Caller, *, limit: int = 100) -> int:
        """How many unread items, counted up to ``limit``."""
        return len(await self.inbox(caller, unread=True, limit=limit))

    async def mark_read(self, caller: Caller, notification_id: UUID) -> Notification:
        body = await self.call("POST", f"/v1/notifications/{notification_id}/read", caller)
        return Notification.model_validate(body)

    async def stream_ticket(self, caller: Caller) -> str:
        """A single-use ticket: the stream is opened without any token in its URL (§14.5)."""
        body = await self.call("POST", "/v1/notifications/stream-ticket", caller)
        return str(body["ticket"])

    @asynccontextmanager
    async def stream(
        self, caller: Caller, *, last_event_id: str | None = None
    ) -> AsyncIterator[AsyncIterator[str]]:
        """The lines of the person's inbox stream until the service ends it (its token expires)."""
        ticket = await self.stream_ticket(caller)
        headers = {"Accept-Language": caller.locale}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id[:64]
        request = self.http.build_request(
            "GET",
            f"{self.base_url}/v1/notifications/stream",
            params={"ticket": ticket},
            headers=headers,
            timeout=httpx.Timeout(10.0, read=None),
        )
        try:
            response = await self.http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(self.name, type(exc).__name__) from exc
        try:
            if response.status_code != 200:
                raise ServiceUnavailable(self.name, f"stream answered HTTP {response.status_code}")
            yield response.aiter_lines()
        finally:
            await response.aclose()

    async def subscriptions(self, caller: Caller) -> list[Subscription]:
        body = await self.call("GET", "/v1/subscriptions", caller, params={"limit": 200})
        return [Subscription.model_validate(item) for item in body["items"]]

    async def subscribe(self, caller: Caller, body: dict[str, Any]) -> Subscription:
        return Subscription.model_validate(await self.call("POST", "/v1/subscriptions", caller, json=body))

    async def unsubscribe(self, caller: Caller, subscription_id: UUID) -> None:
        await self.call("DELETE", f"/v1/subscriptions/{subscription_id}", caller)


class RequestsClient(ServiceClient):
    """Requests: list, file, read, cancel."""

    async def requests(self, caller: Caller, **filters: str) -> list[RequestView]:
        body = await self.call("GET", "/v1/requests", caller, params={"limit": 100, **filters})
        return [RequestView.model_validate(item) for item in body["items"]]

    async def request(self, caller: Caller, request_id: UUID) -> RequestView:
        return RequestView.model_validate(await self.call("GET", f"/v1/requests/{request_id}", caller))

    async def file_request(
        self, caller: Caller, body: dict[str, Any], *, idempotency_key: str
    ) -> RequestView:
        """File once per key: a double submission of the same form answers the same request."""
        headers = {"Idempotency-Key": idempotency_key}
        return RequestView.model_validate(
            await self.call("POST", "/v1/requests", caller, json=body, headers=headers)
        )

    async def cancel(self, caller: Caller, request_id: UUID, reason: str) -> RequestView:
        body = await self.call("POST", f"/v1/requests/{request_id}/cancel", caller, json={"reason": reason})
        return RequestView.model_validate(body)


class AllocationClient(ServiceClient):
    """Lots and allocations: the stock pages' calls."""

    async def lots(self, caller: Caller, **filters: str) -> list[Lot]:
        body = await self.call("GET", "/v1/lots", caller, params={"limit": 200, **filters})
        return [Lot.model_validate(item) for item in body["items"]]

    async def lot(self, caller: Caller, lot_id: UUID) -> Lot:
        return Lot.model_validate(await self.call("GET", f"/v1/lots/{lot_id}", caller))

    async def register_lot(self, caller: Caller, body: dict[str, Any], *, idempotency_key: str) -> Lot:
        """Register once per key: a double submission of the same form answers the same lot."""
        headers = {"Idempotency-Key": idempotency_key}
        return Lot.model_validate(await self.call("POST", "/v1/lots", caller, json=body, headers=headers))

    async def change_quantity(self, caller: Caller, lot_id: UUID, body: dict[str, Any]) -> Lot:
        return Lot.model_validate(await self.call("PATCH", f"/v1/lots/{lot_id}", caller, json=body))

    async def withdraw(self, caller: Caller, lot_id: UUID) -> Lot:
        return Lot.model_validate(await self.call("POST", f"/v1/lots/{lot_id}/withdraw", caller))

    async def allocations(self, caller: Caller, **filters: str) -> list[Allocation]:
        body = await self.call("GET", "/v1/allocations", caller, params={"limit": 200, **filters})
        return [Allocation.model_validate(item) for item in body["items"]]

    async def allocation(self, caller: Caller, allocation_id: UUID) -> Allocation:
        return Allocation.model_validate(await self.call("GET", f"/v1/allocations/{allocation_id}", caller))

    async def transition(
        self, caller: Caller, allocation_id: UUID, step: str, body: dict[str, Any] | None = None
    ) -> Allocation:
        """``approve``, ``reject`` {reason}, ``dispatch`` {waybill, carrier, ...} or ``deliver`` {...}."""
        path = f"/v1/allocations/{allocation_id}/{step}"
        return Allocation.model_validate(await self.call("POST", path, caller, json=body))

    async def donors(self, caller: Caller) -> list[Donor]:
        body = await self.call("GET", "/v1/donors", caller, params={"limit": 200})
        return [Donor.model_validate(item) for item in body["items"]]

    async def donor(self, caller: Caller, donor_id: str) -> Donor:
        return Donor.model_validate(await self.call("GET", f"/v1/donors/{donor_id}", caller))

    async def register_donor(self, caller: Caller, body: dict[str, Any], *, idempotency_key: str) -> Donor:
        """Register once per key, like lots."""
        headers = {"Idempotency-Key": idempotency_key}
        return Donor.model_validate(await self.call("POST", "/v1/donors", caller, json=body, headers=headers))

    async def update_donor(self, caller: Caller, donor_id: str, body: dict[str, Any]) -> Donor:
        return Donor.model_validate(await self.call("PATCH", f"/v1/donors/{donor_id}", caller, json=body))

    async def programmes(self, caller: Caller, **filters: str) -> list[Programme]:
        body = await self.call("GET", "/v1/programmes", caller, params={"limit": 200, **filters})
        return [Programme.model_validate(item) for item in body["items"]]

    async def programme(self, caller: Caller, programme_id: str) -> Programme:
        return Programme.model_validate(await self.call("GET", f"/v1/programmes/{programme_id}", caller))

    async def register_programme(
        self, caller: Caller, body: dict[str, Any], *, idempotency_key: str
    ) -> Programme:
        headers = {"Idempotency-Key": idempotency_key}
        answer = await self.call("POST", "/v1/programmes", caller, json=body, headers=headers)
        return Programme.model_validate(answer)

    async def report(self, caller: Caller, name: str, filters: dict[str, str]) -> dict[str, Any]:
        """One report as JSON: ``{"report", "generated_at", "filters", "items"}`` (docs/allocation.md)."""
        body: dict[str, Any] = await self.call("GET", f"/v1/reports/{name}", caller, params=filters)
        return body

    async def report_file(
        self, caller: Caller, name: str, filters: dict[str, str], fmt: str
    ) -> httpx.Response:
        """One report as the service exports it (``csv`` or ``xlsx``), bytes and headers as they came."""
        return await self.send("GET", f"/v1/reports/{name}", caller, params={**filters, "format": fmt})


@dataclass(frozen=True)
class ServiceClients:
    """One client per service, sharing one httpx client (created and closed in the app's lifespan)."""

    requests: RequestsClient
    allocation: AllocationClient
    notifications: NotificationsClient


def service_clients(
    *,
    http: httpx.AsyncClient,
    signer: TokenSigner,
    requests_url: str,
    allocation_url: str,
    notifications_url: str,
) -> ServiceClients:
    """The clients of the three services."""
    return ServiceClients(
        requests=RequestsClient(name="requests", base_url=requests_url, http=http, signer=signer),
        allocation=AllocationClient(name="allocation", base_url=allocation_url, http=http, signer=signer),
        notifications=NotificationsClient(
            name="notifications", base_url=notifications_url, http=http, signer=signer
        ),
    )
