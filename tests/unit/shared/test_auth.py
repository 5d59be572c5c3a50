"""Bearer tokens: verification, roles and scope claims."""

from __future__ import annotations

import time

import jwt
import pytest

from shared.auth import TokenVerifier, mint_token
from shared.problems import Problem
from shared.settings import AuthSettings, ConfigurationError
from tests.support.polling import eventually

SECRET = "s" * 48


async def test_valid_token_gives_the_principal_with_scope() -> None:
    token = mint_token(secret=SECRET, sub="k", role="region_admin", region="UA-63")
    principal = await TokenVerifier(secret=SECRET).verify(token)
    assert (principal.sub, principal.role, principal.region) == ("k", "region_admin", "UA-63")
    assert not principal.sees_everything


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "x", "role": "emperor", "exp": time.time() + 60},
        {"sub": "x", "role": "region_admin", "exp": time.time() + 60},
        {"sub": "x", "role": "donor", "exp": time.time() + 60},
        {"sub": "x", "role": "coordinator", "exp": time.time() - 60},
        {"sub": "x", "role": "coordinator"},
    ],
)
async def test_bad_claims_are_401_with_challenge(claims: dict) -> None:
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(Problem) as raised:
        await TokenVerifier(secret=SECRET).verify(token)
    assert raised.value.status == 401
    assert raised.value.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_token_verified_before_is_accepted_again_until_its_exp_and_not_after() -> None:
    verifier = TokenVerifier(secret=SECRET)
    token = jwt.encode(
        {"sub": "k", "role": "coordinator", "exp": int(time.time()) + 2}, SECRET, algorithm="HS256"
    )
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first  # remembered, not decoded again

    async def rejected() -> bool:
        try:
            await verifier.verify(token)
        except Problem as problem:
            return problem.status == 401
        return False

    await eventually(rejected, timeout_s=10, what="the remembered token rejected once expired")
    tampered = mint_token(secret=SECRET, sub="k", role="coordinator")[:-2] + "AA"
    with pytest.raises(Problem):
        await verifier.verify(tampered)


async def test_token_signed_with_another_secret_is_rejected() -> None:
    token = mint_token(secret="o" * 48, sub="x", role="admin")
    with pytest.raises(Problem):
        await TokenVerifier(secret=SECRET).verify(token)


async def test_none_algorithm_is_rejected() -> None:
    token = jwt.encode({"sub": "x", "role": "admin", "exp": time.time() + 60}, None, algorithm="none")
    with pytest.raises(Problem):
        await TokenVerifier(secret=SECRET).verify(token)


def test_production_refuses_to_start_without_a_secret(tmp_path) -> None:
    settings = AuthSettings(environment="production", secret=None, state_dir=tmp_path)
    with pytest.raises(ConfigurationError):
        settings.signing_secret()


@pytest.mark.parametrize("weak", ["changeme", "short"])
def test_placeholder_or_short_secrets_are_refused(weak: str) -> None:
    with pytest.raises(ValueError, match="VIDNOVA_AUTH_SECRET"):
        AuthSettings(secret=weak)


def test_development_secret_is_generated_once_and_private(tmp_path) -> None:
    first = AuthSettings(state_dir=tmp_path).signing_secret()
    assert AuthSettings(state_dir=tmp_path).signing_secret() == first
    assert len(first) >= 32
    assert (tmp_path / "auth-secret").stat().st_mode & 0o077 == 0


async def test_an_issuer_when_configured_is_required_and_checked() -> None:
    verifier = TokenVerifier(secret=SECRET, issuer="https://id.vidnova.example")
    claims = {"sub": "x", "role": "admin", "exp": time.time() + 60}
    good = jwt.encode({**claims, "iss": "https://id.vidnova.example"}, SECRET, algorithm="HS256")
    assert (await verifier.verify(good)).sub == "x"
    for bad in ({**claims, "iss": "https://evil.example"}, claims):
        with pytest.raises(Problem) as raised:
            await verifier.verify(jwt.encode(bad, SECRET, algorithm="HS256"))
        assert raised.value.status == 401


def test_jwks_mode_needs_an_issuer_and_in_production_an_audience(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="VIDNOVA_AUTH_ISSUER"):
        AuthSettings(jwks_url="https://id.example/jwks", state_dir=tmp_path).check_jwks()
    production = AuthSettings(
        environment="production", jwks_url="https://id.example/jwks", issuer="https://id.example"
    )
    with pytest.raises(ConfigurationError, match="VIDNOVA_AUTH_AUDIENCE"):
        production.check_jwks()
    AuthSettings(jwks_url="https://id.example/jwks", issuer="https://id.example").check_jwks()
