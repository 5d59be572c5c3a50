"""OpenID Connect sign-in (SPEC §12): Authlib's Starlette client, authorization code with PKCE (S256)."""

from __future__ import annotations

import hashlib
from typing import Any

from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App

from services.console.settings import ConsoleSettings

STATE_COOKIE = "vidnova_oidc"


def identity_provider(settings: ConsoleSettings) -> StarletteOAuth2App | None:
    """The configured provider's client, or None in built-in-accounts mode."""
    if settings.oidc_issuer is None or settings.oidc_client_secret is None:
        return None
    oauth = OAuth()
    client: StarletteOAuth2App = oauth.register(
        "vidnova",
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )
    return client


def state_key(settings: ConsoleSettings) -> str:
    """Signs the short-lived cookie holding state and PKCE verifier; the same on every replica."""
    assert settings.oidc_client_secret is not None
    secret = settings.oidc_client_secret.get_secret_value()
    return hashlib.sha256(f"vidnova-console-oidc-state:{secret}".encode()).hexdigest()


def claim(claims: dict[str, Any], name: str) -> str | None:
    """A string claim, or None when absent or empty."""
    value = claims.get(name)
    return str(value) if value not in (None, "") else None
