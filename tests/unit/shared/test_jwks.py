"""RS256 tokens verified against an OpenID Connect provider's JWKS, served over real HTTP on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.auth import TokenVerifier
from shared.problems import Problem

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    public = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()


def _token(key: rsa.RSAPrivateKey, **claims: object) -> str:
    base = {"sub": "oidc-user", "role": "donor", "donor_id": "undp", "exp": int(time.time()) + 300}
    return jwt.encode({**base, **claims}, key, algorithm="RS256", headers={"kid": "k1"})


def test_rs256_token_from_the_providers_key_is_accepted(jwks_url: str) -> None:
    principal = TokenVerifier(jwks_url=jwks_url).verify(_token(KEY))
    assert (principal.role, principal.donor_id) == ("donor", "undp")


def test_rs256_token_signed_by_another_key_is_401(jwks_url: str) -> None:
    with pytest.raises(Problem) as raised:
        TokenVerifier(jwks_url=jwks_url).verify(_token(OTHER_KEY))
    assert raised.value.status == 401


def test_hs256_token_is_refused_when_jwks_is_configured(jwks_url: str) -> None:
    forged = jwt.encode(
        {"sub": "x", "role": "admin", "exp": int(time.time()) + 60}, "s" * 48, algorithm="HS256"
    )
    with pytest.raises(Problem):
        TokenVerifier(jwks_url=jwks_url).verify(forged)


def test_audience_is_enforced_when_configured(jwks_url: str) -> None:
    verifier = TokenVerifier(jwks_url=jwks_url, audience="vidnova")
    assert verifier.verify(_token(KEY, aud="vidnova")).sub == "oidc-user"
    with pytest.raises(Problem):
        verifier.verify(_token(KEY, aud="someone-else"))
