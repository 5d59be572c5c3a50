"""A small OpenID Connect provider on loopback, for the console's sign-in tests.

A real HTTP server (Starlette under uvicorn, in this process) with one RSA key: discovery document,
JWKS, ``/authorize`` (no login form: it signs in the person the test configured and redirects back
with ``code`` and ``state``), ``/token`` (authorization code grant; client id and secret, and the PKCE
``code_verifier`` against the S256 ``code_challenge``, are checked) and ``/userinfo``. The ID token and
the access token are RS256 JWTs carrying the person's ``role`` and ``region`` / ``donor_id``; the
access token is accepted by the services in JWKS mode (``VIDNOVA_JWKS_URL=provider.jwks_url``,
``VIDNOVA_AUTH_ISSUER=provider.issuer``, ``VIDNOVA_AUTH_AUDIENCE=provider.access_token_audience``).

    async with running_oidc_provider(OidcUser(sub="u1", email=..., name=..., role="coordinator")) as idp:
        # CONSOLE_OIDC_ISSUER=idp.issuer, CONSOLE_OIDC_CLIENT_ID=idp.client_id,
        # CONSOLE_OIDC_CLIENT_SECRET=idp.client_secret; idp.user = ... signs someone else in next.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from shared.auth import Role

CODE_TTL_S = 60.0


@dataclass(frozen=True)
class OidcUser:
    """The person ``/authorize`` signs in (there is no login form)."""

    sub: str
    email: str
    name: str
    role: Role
    region: str | None = None
    donor_id: str | None = None

    def claims(self) -> dict[str, Any]:
        """Profile and scope claims, as both tokens and ``/userinfo`` carry them."""
        claims: dict[str, Any] = {"sub": self.sub, "email": self.email, "name": self.name, "role": self.role}
        if self.region:
            claims["region"] = self.region
        if self.donor_id:
            claims["donor_id"] = self.donor_id
        return claims


@dataclass(frozen=True)
class Grant:
    """An issued authorization code: for whom, to which client and redirect, with which PKCE challenge."""

    user: OidcUser
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    scope: str
    expires_at: float


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _token_error(error: str, description: str, status: int = 400) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="oidc"'} if status == 401 else {}
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", **headers},
    )


@dataclass
class OidcProvider:
    """The provider's state: its key, its one client, the person who signs in, and codes in flight."""

    user: OidcUser
    client_id: str = "vidnova-console"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # None: any http(s) redirect URI is accepted; otherwise only these.
    redirect_uris: tuple[str, ...] | None = None
    access_token_audience: str = "vidnova"
    token_ttl_s: int = 300
    issuer: str = ""  # set once the server has its port
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    kid: str = field(default_factory=lambda: secrets.token_hex(8))
    codes: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def app(self) -> Starlette:
        """The provider's HTTP endpoints."""
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo, methods=["GET", "POST"]),
            ]
        )

    async def discovery(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": self.jwks_url,
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "email", "name", "role", "region", "donor_id", "nonce"],
            }
        )

    async def jwks(self, request: Request) -> JSONResponse:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return JSONResponse({"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]})

    async def authorize(self, request: Request) -> Response:
        """Sign the configured person in and send the browser back with a code (errors: 400)."""
        params = request.query_params
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id:
            return JSONResponse({"error": "invalid_client", "error_description": "unknown client"}, 400)
        if not self._redirect_allowed(redirect_uri):
            return JSONResponse(
                {"error": "invalid_request", "error_description": "redirect_uri refused"}, 400
            )
        problem = self._authorization_problem(params.get("response_type"), params.get("scope", ""), params)
        if problem is not None:
            return RedirectResponse(_with_query(redirect_uri, error=problem, state=params.get("state")), 302)
        code = secrets.token_urlsafe(32)
        self.codes[code] = Grant(
            user=self.user,
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            code_challenge=params["code_challenge"],
            nonce=params.get("nonce"),
            scope=params.get("scope", "openid"),
            expires_at=time.time() + CODE_TTL_S,
        )
        return RedirectResponse(_with_query(redirect_uri, code=code, state=params.get("state")), 302)

    def _redirect_allowed(self, redirect_uri: str) -> bool:
        if self.redirect_uris is not None:
            return redirect_uri in self.redirect_uris
        parts = urlsplit(redirect_uri)
        return parts.scheme in ("http", "https") and bool(parts.hostname)

    @staticmethod
    def _authorization_problem(response_type: str | None, scope: str, params: Any) -> str | None:
        if response_type != "code":
            return "unsupported_response_type"
        if "openid" not in scope.split():
            return "invalid_scope"
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            return "invalid_request"  # PKCE with S256 is required
        return None

    async def token(self, request: Request) -> JSONResponse:
        """Exchange a code for tokens: client authentication, single use, redirect URI and PKCE checked."""
        self.token_requests += 1
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        client_id, client_secret = _client_credentials(request, form)
        if client_id != self.client_id or not secrets.compare_digest(client_secret or "", self.client_secret):
            return _token_error("invalid_client", "client authentication failed", 401)
        if form.get("grant_type") != "authorization_code":
            return _token_error("unsupported_grant_type", "only authorization_code")
        grant = self.codes.pop(form.get("code", ""), None)  # single use, even when the rest fails
        if grant is None or grant.expires_at < time.time() or grant.client_id != client_id:
            return _token_error("invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _token_error("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not secrets.compare_digest(s256(verifier), grant.code_challenge):
            return _token_error("invalid_grant", "PKCE verification failed")
        return JSONResponse(self._tokens(grant), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _tokens(self, grant: Grant) -> dict[str, Any]:
        now = int(time.time())
        common = {"iss": self.issuer, "iat": now, "exp": now + self.token_ttl_s, **grant.user.claims()}
        access_claims = {
            **common,
            "aud": self.access_token_audience,
            "client_id": grant.client_id,
            "scope": grant.scope,
            "jti": secrets.token_hex(16),
        }
        access_token = self._sign(access_claims, typ="at+jwt")
        id_claims = {**common, "aud": grant.client_id, "auth_time": now, "at_hash": _at_hash(access_token)}
        if grant.nonce is not None:
            id_claims["nonce"] = grant.nonce
        return {
            "access_token": access_token,
            "id_token": self._sign(id_claims, typ="JWT"),
            "token_type": "Bearer",
            "expires_in": self.token_ttl_s,
            "scope": grant.scope,
        }

    def _sign(self, claims: dict[str, Any], *, typ: str) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, "typ": typ})

    async def userinfo(self, request: Request) -> JSONResponse:
        """The person's claims for a valid access token of this provider (else 401)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return JSONResponse(
                {"error": "invalid_request"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        try:
            claims = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["RS256"],
                audience=self.access_token_audience,
                issuer=self.issuer,
            )
        except jwt.InvalidTokenError as exc:
            return JSONResponse(
                {"error": "invalid_token", "error_description": str(exc)},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        keys = ("sub", "email", "name", "role", "region", "donor_id")
        return JSONResponse({k: claims[k] for k in keys if k in claims})


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    """client_secret_basic (the Authorization header) or client_secret_post (the form)."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            return None, None
        client_id, _, client_secret = decoded.partition(":")
        return _form_decoded(client_id), _form_decoded(client_secret)
    return form.get("client_id"), form.get("client_secret")


def _form_decoded(value: str) -> str:
    """RFC 6749 §2.3.1: Basic credentials are form-urlencoded first."""
    return dict(parse_qsl(f"v={value}"))["v"] if value else value


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _with_query(url: str, **params: str | None) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [
        (k, v) for k, v in params.items() if v is not None
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


@asynccontextmanager
async def running_oidc_provider(user: OidcUser, **options: Any) -> AsyncIterator[OidcProvider]:
    """Serve an ``OidcProvider`` on a free loopback port for the duration of the block."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    provider = OidcProvider(user=user, **options)
    provider.issuer = f"http://127.0.0.1:{listener.getsockname()[1]}"
    config = uvicorn.Config(provider.app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if task.done():
                task.result()
            if time.monotonic() > deadline:
                raise TimeoutError("the OIDC provider did not start within 10 s")
            await asyncio.sleep(0.01)
        yield provider
    finally:
        server.should_exit = True
        await task
        listener.close()
