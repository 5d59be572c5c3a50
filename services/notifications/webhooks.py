"""Webhook signing (Standard Webhooks), secrets at rest, and the target checks (the SSRF guard)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken

from services.notifications.settings import NotificationsSettings

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
RESOLVE_TIMEOUT_S = 3.0
DEFAULT_PORTS = frozenset({80, 443})
SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
ENCRYPTED_PREFIX = "fernet:"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

# IPv6 ranges that carry an IPv4 address inside them: the embedded address decides.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
# IPv6 ranges never routed to a public host, whatever Python's is_global thinks of them.
NOT_PUBLIC_V6 = (
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated), ::, ::1
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64
    ipaddress.IPv6Network("fec0::/10"),  # site-local (deprecated)
    ipaddress.IPv6Network("fc00::/7"),  # unique local
    ipaddress.IPv6Network("2001::/32"),  # Teredo: the client address is obfuscated
)
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")


class TargetRefused(ValueError):
    """A webhook URL that is malformed or points where the service must not connect."""


# --- secrets ----------------------------------------------------------------------------------


def new_secret() -> str:
    """A random per-subscription signing key in the Standard Webhooks form ``whsec_<base64>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def derived_secret(master: str, subscription_id: str) -> str:
    """The key of subscriptions created before secrets were stored (derived, nothing stored)."""
    digest = hmac.new(master.encode(), f"subscription:{subscription_id}".encode(), hashlib.sha256)
    return SECRET_PREFIX + digest.hexdigest()


class SecretBox:
    """Encrypts signing secrets at rest with a key derived from ``WEBHOOK_SIGNING_SECRET``."""

    def __init__(self, master: str) -> None:
        key = hashlib.sha256(b"vidnova-webhook-secrets\x00" + master.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        """The stored form of a secret."""
        return ENCRYPTED_PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret back from its stored form (rows from before encryption are stored plain)."""
        if not stored.startswith(ENCRYPTED_PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(ENCRYPTED_PREFIX).encode()).decode()
        except InvalidToken as exc:
            raise ValueError("a webhook secret does not decrypt: WEBHOOK_SIGNING_SECRET changed?") from exc


# --- signing ----------------------------------------------------------------------------------


def _key_bytes(secret: str) -> bytes:
    # Decoded exactly as the standardwebhooks library does, so receivers agree on the key.
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64 HMAC-SHA256 over ``id.timestamp.body``."""
    signed = message_id.encode() + b"." + str(timestamp).encode() + b"." + body
    mac = hmac.new(_key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one request."""
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, message_id, timestamp, body),
    }


def encode_body(document: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


# --- the SSRF guard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A parsed webhook URL."""

    scheme: str
    host: str
    port: int
    netloc: str  # the Host header: host[:port] as written in the URL
    url: str


def parse_target(url: str) -> Target:
    """Scheme, host and port of an http(s) URL without credentials; TargetRefused otherwise."""
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
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default, parts.netloc, url)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def is_public(address: IPAddress) -> bool:
    """Whether an address is on the public internet; IPv6 forms embedding IPv4 are judged by it."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
        if any(address in network for network in NOT_PUBLIC_V6):
            return False
    elif address in CGNAT:
        return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def refuse_private(addresses: Iterable[IPAddress]) -> None:
    """TargetRefused if any address a host resolves to is not public."""
    for address in addresses:
        if not is_public(address):
            raise TargetRefused(
                f"the host resolves to {address}, which is not a public address "
                "(loopback, private, link-local, shared, reserved or an IPv6 form of one); "
                "webhook targets must be public (WEBHOOK_ALLOW_PRIVATE=1 allows them)"
            )


def refuse_port(target: Target, allowed_ports: frozenset[int]) -> None:
    """TargetRefused unless the port is allowed (80 and 443 unless configured otherwise)."""
    if target.port not in allowed_ports:
        ports = ", ".join(map(str, sorted(allowed_ports)))
        raise TargetRefused(
            f"port {target.port} is not allowed for webhooks (allowed: {ports}; WEBHOOK_ALLOWED_PORTS)"
        )


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for a host name."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError) as exc:
        raise TargetRefused(f"the host {host!r} does not resolve: {exc or 'timed out'}") from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def resolve(host: str, port: int, resolver: Resolver = system_resolve) -> list[IPAddress]:
    """The addresses of a host (literal IPs as themselves), resolved exactly once."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    addresses = await resolver(host, port)
    if not addresses:
        raise TargetRefused(f"the host {host!r} does not resolve")
    return addresses


@dataclass(frozen=True)
class Vetted:
    """A target and the one address the connection must go to (no second lookup)."""

    target: Target
    address: IPAddress

    def pinned_url(self) -> str:
        """The URL with the vetted address in place of the host name."""
        parts = urlsplit(self.target.url)
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return urlunsplit((parts.scheme, f"{host}:{self.target.port}", parts.path, parts.query, ""))


@dataclass(frozen=True)
class TargetPolicy:
    """What targets are allowed: public addresses on allowed ports, unless private ones are allowed."""

    allow_private: bool = False
    allowed_ports: frozenset[int] = DEFAULT_PORTS
    resolver: Resolver = system_resolve

    @classmethod
    def for_settings(
        cls, settings: NotificationsSettings, resolver: Resolver = system_resolve
    ) -> TargetPolicy:
        """The policy a deployment configured (``WEBHOOK_ALLOW_PRIVATE``, ``WEBHOOK_ALLOWED_PORTS``)."""
        return cls(settings.webhook_allow_private, settings.allowed_webhook_ports(), resolver)

    async def vet(self, url: str) -> Vetted:
        """Resolve once, check every address and the port; the address to connect to."""
        target = parse_target(url)
        if not self.allow_private:
            refuse_port(target, self.allowed_ports)
        addresses = await resolve(target.host, target.port, self.resolver)
        if not self.allow_private:
            refuse_private(addresses)
        return Vetted(target, addresses[0])
