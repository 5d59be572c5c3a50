"""Webhook signing and target checks (the SSRF guard)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

SIGNATURE_HEADER = "Vidnova-Signature"
TIMESTAMP_HEADER = "Vidnova-Timestamp"
DELIVERY_HEADER = "Vidnova-Delivery"
EVENT_TYPE_HEADER = "Vidnova-Event-Type"
RESOLVE_TIMEOUT_S = 3.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """A webhook URL that is malformed or points where the service must not connect."""


def new_secret() -> str:
    """A random per-subscription signing key."""
    return "whsec_" + secrets.token_urlsafe(32)


def derived_secret(master: str, subscription_id: str) -> str:
    """A per-subscription key derived from ``WEBHOOK_SIGNING_SECRET`` (nothing secret is stored)."""
    digest = hmac.new(master.encode(), f"subscription:{subscription_id}".encode(), hashlib.sha256)
    return "whsec_" + digest.hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: HMAC-SHA256 over ``timestamp + "." + body``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def encode_body(document: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def parse_target(url: str) -> tuple[str, int]:
    """Host and port of an http(s) URL without credentials; TargetRefused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("the URL must start with http:// or https://")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("credentials in the URL are not allowed; verify the signature instead")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def is_public(address: IPAddress) -> bool:
    """Whether an address is on the public internet (not loopback, private, link-local, reserved…)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def refuse_private(addresses: Iterable[IPAddress]) -> None:
    """TargetRefused if any address a host resolves to is not public (the client may pick any)."""
    for address in addresses:
        if not is_public(address):
            raise TargetRefused(
                f"the host resolves to {address}, a loopback, private or link-local address; "
                "webhook targets must be public (WEBHOOK_ALLOW_PRIVATE=1 allows them)"
            )


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address a host name resolves to (literal IPs as themselves)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError) as exc:
        raise TargetRefused(f"the host {host!r} does not resolve: {exc or 'timed out'}") from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse malformed URLs and, unless allowed, hosts on loopback or private networks."""
    host, port = parse_target(url)
    if not allow_private:
        refuse_private(await resolve(host, port))
