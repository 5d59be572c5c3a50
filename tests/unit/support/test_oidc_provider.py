"""The test suite's OpenID Connect provider, over HTTP: discovery, the code flow with PKCE, tokens that
verify against its JWKS, and the refusals a client must see."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from shared.auth import TokenVerifier
from shared.jwks import JwksKeys
from tests.support.oidc_provider import OidcProvider, OidcUser, running_oidc_provider, s256

KHARKIV_ADMIN = OidcUser(
    sub="oidc|kharkiv-1", email="olena@kharkiv.example.org", name="Олена Коваль",
    role="region_admin", region="UA-63",
)  # fmt: skip
REDIRECT_URI = "http://127.0.0.1:8000/auth/oidc/callback?next=%2Finbox"


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[OidcProvider]:
    async with running_oidc_provider(KHARKIV_ADMIN) as running:
        yield running


@pytest.fixture
async def http(provider: OidcProvider) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=provider.issuer, follow_redirects=False, timeout=10) as client:
        yield client


async def authorize(
    http: httpx.AsyncClient, provider: OidcProvider, verifier: str, **overrides: str
) -> dict[str, list[str]]:
    """Run /authorize as a browser would; the query of the redirect back to the client."""
    params = {
        "response_type": "code", "client_id": provider.client_id, "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile", "state": "st-1", "nonce": "n-1",
        "code_challenge": s256(verifier), "code_challenge_method": "S256", **overrides,
    }  # fmt: skip
    response = await http.get("/authorize", params=params)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI.split("?")[0]
    return parse_qs(location.query)


async def exchange(
    http: httpx.AsyncClient, provider: OidcProvider, code: str, verifier: str, secret: str | None = None
) -> httpx.Response:
    """The token request of a confidential client (client_secret_basic)."""
    return await http.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
              "code_verifier": verifier},
        auth=(provider.client_id, secret or provider.client_secret),
    )  # fmt: skip


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


async def test_discovery_names_every_endpoint_under_the_issuer(
    http: httpx.AsyncClient, provider: OidcProvider
) -> None:
    document = (await http.get("/.well-known/openid-configuration")).json()
    assert document["issuer"] == provider.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert document[endpoint].startswith(provider.issuer + "/"), endpoint
        assert (await http.get(document[endpoint])).status_code != 404, endpoint
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]


async def test_code_flow_with_pkce_gives_tokens_that_verify_against_the_jwks(
    http: httpx.AsyncClient, provider: OidcProvider
) -> None:
    verifier = new_verifier()
    back = await authorize(http, provider, verifier)
    assert back["state"] == ["st-1"]
    assert back["next"] == ["/inbox"]  # the client's own query survives
    response = await exchange(http, provider, back["code"][0], verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert 0 < tokens["expires_in"] <= 300

    # PyJWKClient blocks: in a thread, so that the provider (on this event loop) can answer it.
    jwks = jwt.PyJWKClient(provider.jwks_url)
    key = (await asyncio.to_thread(jwks.get_signing_key_from_jwt, tokens["id_token"])).key
    identity = jwt.decode(
        tokens["id_token"], key, algorithms=["RS256"], audience=provider.client_id, issuer=provider.issuer
    )
    assert identity["nonce"] == "n-1"
    assert {k: identity[k] for k in ("sub", "email", "name", "role", "region")} == KHARKIV_ADMIN.claims()
    assert "donor_id" not in identity

    # The access token is what the console sends to the services, which verify it in JWKS mode.
    verifier_of_services = TokenVerifier(
        jwks=JwksKeys(provider.jwks_url), issuer=provider.issuer, audience=provider.access_token_audience
    )
    principal = await verifier_of_services.verify(tokens["access_token"])
    assert (principal.sub, principal.role, principal.region) == ("oidc|kharkiv-1", "region_admin", "UA-63")


async def test_a_wrong_code_verifier_is_refused_and_spends_the_code(
    http: httpx.AsyncClient, provider: OidcProvider
) -> None:
    verifier = new_verifier()
    code = (await authorize(http, provider, verifier))["code"][0]
    refused = await exchange(http, provider, code, new_verifier())
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    again = await exchange(http, provider, code, verifier)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


async def test_a_code_works_once(http: httpx.AsyncClient, provider: OidcProvider) -> None:
    verifier = new_verifier()
    code = (await authorize(http, provider, verifier))["code"][0]
    assert (await exchange(http, provider, code, verifier)).status_code == 200
    assert (await exchange(http, provider, code, verifier)).json()["error"] == "invalid_grant"


async def test_a_wrong_client_secret_is_refused(http: httpx.AsyncClient, provider: OidcProvider) -> None:
    verifier = new_verifier()
    code = (await authorize(http, provider, verifier))["code"][0]
    refused = await exchange(http, provider, code, verifier, secret="not-the-secret")
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")


async def test_client_secret_post_is_accepted(http: httpx.AsyncClient, provider: OidcProvider) -> None:
    verifier = new_verifier()
    code = (await authorize(http, provider, verifier))["code"][0]
    form: dict[str, Any] = {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier, "client_id": provider.client_id, "client_secret": provider.client_secret,
    }  # fmt: skip
    assert (await http.post("/token", data=form)).status_code == 200


async def test_authorization_without_pkce_returns_an_error_to_the_client(
    http: httpx.AsyncClient, provider: OidcProvider
) -> None:
    back = await authorize(http, provider, new_verifier(), code_challenge_method="plain")
    assert back["error"] == ["invalid_request"]
    assert "code" not in back


async def test_an_unknown_client_is_not_redirected(http: httpx.AsyncClient, provider: OidcProvider) -> None:
    response = await http.get("/authorize", params={"client_id": "intruder", "redirect_uri": REDIRECT_URI})
    assert response.status_code == 400


async def test_userinfo_answers_for_the_access_token_only(
    http: httpx.AsyncClient, provider: OidcProvider
) -> None:
    verifier = new_verifier()
    code = (await authorize(http, provider, verifier))["code"][0]
    tokens = (await exchange(http, provider, code, verifier)).json()
    info = await http.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.json() == KHARKIV_ADMIN.claims()
    assert (await http.get("/userinfo")).status_code == 401
    forged = await http.get("/userinfo", headers={"Authorization": f"Bearer {tokens['id_token']}"})
    assert forged.status_code == 401  # the ID token's audience is the client, not the services


async def test_the_person_signing_in_can_change_between_flows(
    http: httpx.AsyncClient, provider: OidcProvider
) -> None:
    donor = OidcUser(
        sub="oidc|jica-1", email="desk@jica.example.org", name="Desk", role="donor", donor_id="jica"
    )
    provider.user = donor
    try:
        verifier = new_verifier()
        code = (await authorize(http, provider, verifier))["code"][0]
        tokens = (await exchange(http, provider, code, verifier)).json()
    finally:
        provider.user = KHARKIV_ADMIN
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert (claims["role"], claims["donor_id"]) == ("donor", "jica")


async def test_authlib_signs_in_through_the_provider(provider: OidcProvider) -> None:
    """The console's OIDC client library, end to end (PKCE S256, client_secret_basic, ID token claims)."""
    httpx_client = pytest.importorskip("authlib.integrations.httpx_client")
    jose = pytest.importorskip("authlib.jose")
    oidc = pytest.importorskip("authlib.oidc.core")
    async with httpx.AsyncClient(timeout=10) as http:
        metadata = (await http.get(provider.discovery_url)).json()
        jwks = (await http.get(metadata["jwks_uri"])).json()
        verifier = new_verifier()
        async with httpx_client.AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            scope="openid email profile",
            redirect_uri=REDIRECT_URI,
            code_challenge_method="S256",
        ) as client:
            url, state = client.create_authorization_url(
                metadata["authorization_endpoint"], code_verifier=verifier, nonce="n-2"
            )
            callback = (await http.get(url)).headers["location"]  # the browser, signed in at once
            token = await client.fetch_token(
                metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
            )
    claims = jose.jwt.decode(
        token["id_token"],
        jose.JsonWebKey.import_key_set(jwks),
        claims_cls=oidc.CodeIDToken,
        claims_options={"iss": {"essential": True, "value": provider.issuer}},
        claims_params={
            "nonce": "n-2",
            "client_id": provider.client_id,
            "access_token": token["access_token"],
        },
    )
    claims.validate()
    assert parse_qs(urlsplit(callback).query)["state"] == [state]
    assert (claims["role"], claims["region"]) == ("region_admin", "UA-63")
