"""An OpenID Connect provider's JWKS endpoint on loopback that tests can rotate, slow down and stop."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://id.vidnova.test"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(key: rsa.RSAPrivateKey, kid: str, **claims: Any) -> str:
    """An RS256 token as the provider would issue it (a donor of UNDP unless claims say otherwise)."""
    base = {
        "sub": "oidc-user", "role": "donor", "donor_id": "undp", "iss": ISSUER,
        "exp": int(time.time()) + 300,
    }  # fmt: skip
    return jwt.encode({**base, **claims}, key, algorithm="RS256", headers={"kid": kid})


@dataclass
class JwksServer:
    """Serves ``{"keys": [...]}`` for the keys it currently publishes; counts and can delay requests."""

    published: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    delay_s: float = 0.0
    hits: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}/.well-known/jwks.json"

    def document(self) -> bytes:
        keys = [
            {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig", "alg": "RS256"}
            for kid, key in self.published.items()
        ]
        return json.dumps({"keys": keys}).encode()

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                if owner.delay_s:
                    time.sleep(owner.delay_s)  # its own thread: the slow provider, not the test
                body = owner.document()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Close the socket: from now on the provider is unreachable (connection refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
