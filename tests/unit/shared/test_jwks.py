"""RS256 tokens verified against a JWKS served over real HTTP on loopback that rotates and fails (§14.3)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest

from shared.auth import TokenVerifier
from shared.jwks import JwksKeys
from shared.problems import Problem
from tests.support.jwks_server import ISSUER, JwksServer, new_key, token
from tests.support.polling import eventually

KEY, OTHER_KEY = new_key(), new_key()


@pytest.fixture
def provider() -> Iterator[JwksServer]:
    server = JwksServer(published={"k1": KEY})
    server.start()
    yield server
    server.stop()


def verifier(provider: JwksServer, **options: float) -> TokenVerifier:
    return TokenVerifier(jwks=JwksKeys(provider.url, **options), issuer=ISSUER)


async def status_of(verifier: TokenVerifier, jwt_token: str) -> int:
    try:
        await verifier.verify(jwt_token)
    except Problem as problem:
        return problem.status
    return 200


async def test_rs256_token_from_the_providers_key_is_accepted(provider: JwksServer) -> None:
    principal = await verifier(provider).verify(token(KEY, "k1"))
    assert (principal.role, principal.donor_id) == ("donor", "undp")


async def test_a_token_signed_by_another_key_or_with_hs256_is_401(provider: JwksServer) -> None:
    checker = verifier(provider)
    assert await status_of(checker, token(OTHER_KEY, "k1")) == 401
    claims = {"sub": "x", "role": "admin", "exp": int(time.time()) + 60, "iss": ISSUER}
    forged = jwt.encode(claims, "s" * 48, algorithm="HS256")
    assert await status_of(checker, forged) == 401


async def test_the_issuer_is_required_and_checked(provider: JwksServer) -> None:
    checker = verifier(provider)
    assert await status_of(checker, token(KEY, "k1", iss="https://evil.example")) == 401
    no_issuer = jwt.encode(
        {"sub": "x", "role": "admin", "exp": int(time.time()) + 60}, KEY, algorithm="RS256",
        headers={"kid": "k1"},
    )  # fmt: skip
    assert await status_of(checker, no_issuer) == 401


async def test_audience_is_required_and_enforced_when_configured(provider: JwksServer) -> None:
    checker = TokenVerifier(jwks=JwksKeys(provider.url), issuer=ISSUER, audience="vidnova")
    assert (await checker.verify(token(KEY, "k1", aud="vidnova"))).sub == "oidc-user"
    assert await status_of(checker, token(KEY, "k1", aud="someone-else")) == 401
    assert await status_of(checker, token(KEY, "k1")) == 401


async def test_a_rotated_key_is_picked_up_and_the_revoked_one_expires_with_the_ttl(
    provider: JwksServer,
) -> None:
    checker = verifier(provider, ttl_s=0.5, min_refresh_s=0.2)
    assert await status_of(checker, token(KEY, "k1")) == 200
    provider.published = {"k2": OTHER_KEY}  # the provider rotates and revokes k1
    await eventually(lambda: _is(checker, token(OTHER_KEY, "k2"), 200), timeout_s=10, what="new key")
    await eventually(lambda: _is(checker, token(KEY, "k1"), 401), timeout_s=10, what="revoked key refused")


async def _is(checker: TokenVerifier, jwt_token: str, status: int) -> bool:
    return await status_of(checker, jwt_token) == status


async def test_unknown_key_ids_refresh_at_most_once_per_interval(provider: JwksServer) -> None:
    checker = verifier(provider, min_refresh_s=60)
    assert await status_of(checker, token(KEY, "k1")) == 200
    assert provider.hits == 1
    provider.published = {"k1": KEY, "k2": OTHER_KEY}
    statuses = {await status_of(checker, token(OTHER_KEY, f"made-up-{n}")) for n in range(50)}
    assert statuses == {401}
    assert await status_of(checker, token(OTHER_KEY, "k2")) == 401  # not yet: fetched under a minute ago
    assert provider.hits == 1


async def test_stale_keys_serve_one_more_ttl_while_the_provider_is_down_then_503(
    provider: JwksServer,
) -> None:
    checker = verifier(provider, ttl_s=0.5, min_refresh_s=0.1)
    assert await status_of(checker, token(KEY, "k1")) == 200
    provider.stop()
    assert await status_of(checker, token(KEY, "k1")) == 200  # within the TTL: no fetch at all
    await eventually(lambda: _is(checker, token(KEY, "k1"), 503), timeout_s=10, what="keys given up")
    assert await status_of(checker, token(KEY, "unknown")) == 503
