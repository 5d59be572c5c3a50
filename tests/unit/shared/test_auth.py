"""Bearer tokens: verification, roles and scope claims."""

from __future__ import annotations

import time

import jwt
import pytest

from shared.auth import TokenVerifier, mint_token
from shared.problems import Problem
from shared.settings import AuthSettings, ConfigurationError

SECRET = "s" * 48


def test_valid_token_gives_the_principal_with_scope() -> None:
    token = mint_token(secret=SECRET, sub="k", role="region_admin", region="UA-63")
    principal = TokenVerifier(secret=SECRET).verify(token)
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
def test_bad_claims_are_401_with_challenge(claims: dict) -> None:
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(Problem) as raised:
        TokenVerifier(secret=SECRET).verify(token)
    assert raised.value.status == 401
    assert raised.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_signed_with_another_secret_is_rejected() -> None:
    token = mint_token(secret="o" * 48, sub="x", role="admin")
    with pytest.raises(Problem):
        TokenVerifier(secret=SECRET).verify(token)


def test_none_algorithm_is_rejected() -> None:
    token = jwt.encode({"sub": "x", "role": "admin", "exp": time.time() + 60}, None, algorithm="none")
    with pytest.raises(Problem):
        TokenVerifier(secret=SECRET).verify(token)


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
