"""Small typed clients of the three services, over one shared httpx client, as the signed-in person."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import httpx

from services.console.schemas import Notification
from shared.auth import Role, mint_token

UpstreamName = Literal["requests", "allocation", "notifications"]


class ServiceUnavailable(RuntimeError):
    """A service did not answer (down, timed out, or answered 5xx); the page names it."""

    def __init__(self, service: UpstreamName, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


class ServiceRefused(RuntimeError):
    """A service answered with a 4xx problem; ``status`` and ``detail`` from its answer."""

    def __init__(self, service: UpstreamName, status: int, detail: str) -> None:
        super().__init__(f"{service} answered {status}: {detail}")
        self.service, self.status, self.detail = service, status, detail


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

    async def call(self, method: str, path: str, caller: Caller, **kwargs: Any) -> Any:
        """The JSON answer of one call; ServiceUnavailable or ServiceRefused when it fails."""
        try:
            response = await self.http.request(
                method, self.base_url + path, headers=self.headers(caller), **kwargs
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(self.name, type(exc).__name__) from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(self.name, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            detail = (
                response.json().get("detail", "")
                if response.headers.get("content-type", "").endswith("json")
                else response.text[:200]
            )
            raise ServiceRefused(self.name, response.status_code, str(detail))
        return response.json() if response.content else None


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


@dataclass(frozen=True)
class ServiceClients:
    """One client per service, sharing one httpx client (created and closed in the app's lifespan)."""

    requests: ServiceClient
    allocation: ServiceClient
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
        requests=ServiceClient(name="requests", base_url=requests_url, http=http, signer=signer),
        allocation=ServiceClient(name="allocation", base_url=allocation_url, http=http, signer=signer),
        notifications=NotificationsClient(
            name="notifications", base_url=notifications_url, http=http, signer=signer
        ),
    )
