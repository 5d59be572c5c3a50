"""Webhook signatures (checked with the `standardwebhooks` library), secrets at rest, the SSRF guard."""

from __future__ import annotations

import ipaddress
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifications import webhooks
from services.notifications.settings import NotificationsSettings
from services.notifications.webhooks import IPAddress, TargetPolicy, TargetRefused
from shared.settings import ConfigurationError


def test_the_standardwebhooks_library_verifies_our_signature() -> None:
    secret, body = webhooks.new_secret(), webhooks.encode_body({"title": "Отримано: 2 одиниці"})
    assert secret.startswith("whsec_")
    headers = webhooks.signature_headers(secret, "msg_1", int(time.time()), body)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers) == {"title": "Отримано: 2 одиниці"}


def test_a_tampered_body_a_wrong_key_an_other_id_or_a_stale_timestamp_fail_verification() -> None:
    secret, body, now = webhooks.new_secret(), b'{"quantity":2}', int(time.time())
    headers = webhooks.signature_headers(secret, "msg_1", now, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"quantity":20}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "msg_2"})
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, webhooks.signature_headers(secret, "msg_1", now - 3600, body))


def test_our_signature_is_the_one_the_library_computes() -> None:
    secret, body, now = webhooks.new_secret(), b"{}", int(time.time())
    expected = Webhook(secret).sign("msg_9", datetime.fromtimestamp(now, UTC), body.decode())
    assert webhooks.sign(secret, "msg_9", now, body) == expected


def test_secrets_are_stored_encrypted_and_open_only_with_the_same_master_key() -> None:
    box, secret = webhooks.SecretBox("m" * 40), webhooks.new_secret()
    stored = box.seal(secret)
    assert secret not in stored
    assert stored.startswith("fernet:")
    assert box.open(stored) == secret
    with pytest.raises(ValueError, match="does not decrypt"):
        webhooks.SecretBox("n" * 40).open(stored)
    assert box.open("whsec_legacyplain") == "whsec_legacyplain"  # rows from before encryption


def test_the_master_key_is_required_in_production_and_must_be_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDNOVA_ENV", "production")
    monkeypatch.delenv("WEBHOOK_SIGNING_SECRET", raising=False)
    production = NotificationsSettings()
    with pytest.raises(ConfigurationError, match="WEBHOOK_SIGNING_SECRET"):
        production.webhook_master_secret()
    with pytest.raises(ValueError, match="at least 32"):
        NotificationsSettings(WEBHOOK_SIGNING_SECRET="short")
    with pytest.raises(ValueError, match="WEBHOOK_ALLOWED_PORTS"):
        NotificationsSettings(WEBHOOK_ALLOWED_PORTS="80,http")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "240.0.0.1", "255.255.255.255", "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1",
        "ff02::1", "fec0::1",  # site-local
        "::ffff:127.0.0.1", "::ffff:10.0.0.1",  # IPv4-mapped
        "::127.0.0.1", "::169.254.169.254", "::8.8.8.8",  # IPv4-compatible (deprecated; never public)
        "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b::a00:1",  # NAT64 of link-local, loopback, private
        "64:ff9b:1::1",  # local-use NAT64
        "2002:7f00:1::1", "2002:a9fe:a9fe::", "2002:c0a8:101::1",  # 6to4 of loopback, link-local, private
        "2001::1",  # Teredo
    ],
)  # fmt: skip
def test_addresses_off_the_public_internet_are_refused(address: str) -> None:
    assert not webhooks.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_internet_addresses_and_ipv6_forms_of_them_are_public(address: str) -> None:
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


class StubResolver:
    """Answers each lookup with the next list of addresses: a DNS-rebinding attacker's server."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = [[ipaddress.ip_address(a) for a in answer] for answer in answers]
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


async def test_a_name_is_resolved_once_and_the_connection_goes_to_the_vetted_address() -> None:
    resolver = StubResolver(["93.184.215.14"], ["127.0.0.1"])
    vetted = await TargetPolicy(resolver=resolver).vet("https://hooks.example.org/in?x=1")
    assert resolver.lookups == ["hooks.example.org"]
    assert vetted.pinned_url() == "https://93.184.215.14:443/in?x=1"
    assert vetted.target.netloc == "hooks.example.org"
    with pytest.raises(TargetRefused, match=r"127\.0\.0\.1"):  # the second answer is judged on its own
        await TargetPolicy(resolver=resolver).vet("https://hooks.example.org/in")


async def test_one_private_address_among_public_ones_refuses_the_target() -> None:
    resolver = StubResolver(["93.184.215.14", "10.0.0.5"])
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.5"):
        await TargetPolicy(resolver=resolver).vet("https://hooks.example.org/")


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/hook", "http://127.0.0.1/", "http://[::1]:9000/", "http://169.254.169.254/",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "http://[2002:7f00:1::1]/", "http://[::127.0.0.1]/",
        "http://[fec0::1]/", "http://[::ffff:7f00:1]/",
    ],
)  # fmt: skip
async def test_private_targets_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(TargetRefused, match="WEBHOOK_ALLOW_PRIVATE"):
        await TargetPolicy(allowed_ports=frozenset({80, 8080, 9000})).vet(url)
    await TargetPolicy(allow_private=True).vet(url)


@pytest.mark.parametrize(
    "url", ["https://93.184.215.14:22/", "http://93.184.215.14:8080/", "http://8.8.8.8:6379/"]
)
async def test_ports_other_than_80_and_443_are_refused_unless_configured(url: str) -> None:
    with pytest.raises(TargetRefused, match="WEBHOOK_ALLOWED_PORTS"):
        await TargetPolicy().vet(url)
    port = webhooks.parse_target(url).port
    await TargetPolicy(allowed_ports=frozenset({port})).vet(url)
    await TargetPolicy(allow_private=True).vet(url)  # the private allowance lifts the port rule too


async def test_a_public_address_literal_is_accepted_without_a_lookup() -> None:
    resolver = StubResolver(["127.0.0.1"])
    vetted = await TargetPolicy(resolver=resolver).vet("https://[2001:4860:4860::8888]/hooks")
    assert resolver.lookups == []
    assert vetted.pinned_url() == "https://[2001:4860:4860::8888]:443/hooks"


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(TargetRefused, match="does not resolve"):
        await TargetPolicy().vet("https://vidnova-hooks.invalid/x")
