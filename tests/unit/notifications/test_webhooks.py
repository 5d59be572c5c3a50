"""Webhook signatures (checked with the receiver snippet from the README) and the SSRF guard."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from collections.abc import Mapping

import pytest

from services.notifications import webhooks
from services.notifications.webhooks import TargetRefused


# The receiver-side check documented for webhook consumers, verbatim.
def verify(secret: str, headers: Mapping[str, str], body: bytes, tolerance_s: int = 300) -> bool:
    timestamp = headers["Vidnova-Timestamp"]
    expected = (
        "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    fresh = abs(time.time() - int(timestamp)) <= tolerance_s
    return fresh and hmac.compare_digest(expected, headers["Vidnova-Signature"])


def signed(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {"Vidnova-Timestamp": str(timestamp), "Vidnova-Signature": webhooks.sign(secret, timestamp, body)}


def test_a_receiver_verifies_the_signature() -> None:
    secret, body, now = (
        webhooks.new_secret(),
        webhooks.encode_body({"title": "Отримано: 2 одиниці"}),
        int(time.time()),
    )
    assert verify(secret, signed(secret, body, now), body)


def test_a_tampered_body_a_wrong_key_or_a_stale_timestamp_fail_verification() -> None:
    secret, body, now = webhooks.new_secret(), b'{"quantity":2}', int(time.time())
    assert not verify(secret, signed(secret, body, now), b'{"quantity":20}')
    assert not verify(webhooks.new_secret(), signed(secret, body, now), body)
    replayed = signed(secret, body, now - 3600)
    assert not verify(secret, replayed, body)
    shifted = {**signed(secret, body, now), "Vidnova-Timestamp": str(now + 1)}
    assert not verify(secret, shifted, body)  # the timestamp is covered by the signature


def test_derived_secrets_are_stable_and_differ_per_subscription() -> None:
    master = "m" * 40
    assert webhooks.derived_secret(master, "a") == webhooks.derived_secret(master, "a")
    assert webhooks.derived_secret(master, "a") != webhooks.derived_secret(master, "b")
    assert webhooks.derived_secret(master, "a") != webhooks.derived_secret("n" * 40, "a")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    ],
)  # fmt: skip
def test_loopback_private_link_local_and_reserved_addresses_are_not_public(address: str) -> None:
    assert not webhooks.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2001:4860:4860::8888"])
def test_internet_addresses_are_public(address: str) -> None:
    assert webhooks.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/x", "http:// or https://"),
        ("example.org/hook", "http:// or https://"),
        ("https:///path", "no host"),
        ("https://user:pw@example.org/", "credentials"),
        ("https://example.org:99999/", "not a valid URL"),
    ],
)
def test_malformed_targets_are_refused(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused, match=reason):
        webhooks.parse_target(url)


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8080/hook", "http://127.0.0.1/", "http://[::1]:9000/", "http://169.254.169.254/"],
)
async def test_private_targets_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(TargetRefused, match="WEBHOOK_ALLOW_PRIVATE"):
        await webhooks.check_target(url, allow_private=False)
    await webhooks.check_target(url, allow_private=True)


async def test_a_public_address_literal_is_accepted_without_a_lookup() -> None:
    await webhooks.check_target("https://93.184.215.14/hooks/vidnova", allow_private=False)


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(TargetRefused, match="does not resolve"):
        await webhooks.check_target("https://vidnova-hooks.invalid/x", allow_private=False)
