"""Bearer-token authentication (HS256 secret or RS256 via JWKS) and role/scope checks."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.actor import bind_actor
from shared.identifiers import is_donor_id
from shared.jwks import JwksKeys, KeysUnavailable
from shared.problems import Problem
from shared.ratelimit import WRITE_METHODS, WriteLimiter

Role = Literal["region_admin", "coordinator", "donor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
ALGORITHMS_HS = ["HS256"]
ALGORITHMS_JWKS = ["RS256"]
VERIFIED_TOKENS_KEPT = 4096


@dataclass(frozen=True)
class Principal:
    """Who is calling: subject, role and the scope its role carries."""

    sub: str
    role: Role
    region: str | None = None
    donor_id: str | None = None
    expires_at: float | None = None  # the token's `exp` (epoch seconds): streams end then

    @property
    def sees_everything(self) -> bool:
        """Coordinators and admins read across regions and donors."""
        return self.role in ("coordinator", "admin")

    def listing_region(self, region: str | None) -> str | None:
        """The region a list is limited to: a region admin's own (403 for another), else the one asked."""
        if self.role != "region_admin":
            return region
        if region is not None and region != self.region:
            raise Problem(403, "Forbidden", f"a region_admin of {self.region} cannot list {region}")
        return self.region

    def listing_donor(self, donor_id: str | None, *, of: str) -> str | None:
        """The donor a list is limited to: a donor's own (403 for another), else the one asked."""
        if self.role != "donor":
            return donor_id
        if donor_id is not None and donor_id != self.donor_id:
            raise Problem(403, "Forbidden", f"donor {self.donor_id!r} cannot list {donor_id!r}'s {of}")
        return self.donor_id


class TokenVerifier:
    """Verifies tokens with the configured key source and turns claims into a Principal."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks: JwksKeys | None = None,
        issuer: str | None = None,
        audience: str | None = None,
    ):
        if not secret and jwks is None:
            raise ValueError("a signing secret or a JWKS URL is required")
        if jwks is not None and not issuer:
            raise ValueError("VIDNOVA_AUTH_ISSUER is required with VIDNOVA_JWKS_URL")
        self._secret = secret
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        # Shared-secret tokens verified before, with their `exp`: the same bytes under the same key
        # verify the same way until then (bench: signature checks were a fifth of POST /v1/requests).
        self._verified: dict[str, tuple[Principal, int]] = {}

    async def verify(self, token: str) -> Principal:
        """Decode and validate a token; raises Problem 401 on anything wrong (503 if keys are unavailable)."""
        known = self._verified.get(token)
        if known is not None:
            principal, exp = known
            if exp > time.time():  # what PyJWT checks (exp <= now is expired); iat and nbf only got older
                return principal
            del self._verified[token]
        try:
            if self._jwks is not None:
                kid = jwt.get_unverified_header(token).get("kid")
                key: Any = await self._jwks.key_for(kid)
                algorithms = ALGORITHMS_JWKS
            else:
                key, algorithms = self._secret, ALGORITHMS_HS
            required = ["sub", "role", "exp"] + ["iss"] * bool(self._issuer) + ["aud"] * bool(self._audience)
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": required, "verify_aud": self._audience is not None},
            )
        except KeyError as exc:
            raise unauthorized("invalid token: its key id is not published by the identity provider") from exc
        except KeysUnavailable as exc:
            raise Problem(
                503, "Service Unavailable", "tokens cannot be verified now: " + str(exc),
                headers={"Retry-After": "30"},
            ) from exc  # fmt: skip
        except jwt.PyJWTError as exc:
            raise unauthorized(f"invalid token: {exc}") from exc
        principal = principal_from_claims(claims)
        if self._jwks is None:  # JWKS keys rotate: those tokens are checked every time
            if len(self._verified) >= VERIFIED_TOKENS_KEPT:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[token] = (principal, int(claims["exp"]))
        return principal


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Validate the role and its scope claim."""
    role = claims.get("role")
    if role not in ROLES:
        raise unauthorized(f"unknown role {role!r}")
    region, donor_id = claims.get("region"), claims.get("donor_id")
    if role == "region_admin" and not region:
        raise unauthorized("a region_admin token must carry a 'region' claim")
    if role == "donor" and not donor_id:
        raise unauthorized("a donor token must carry a 'donor_id' claim")
    if donor_id is not None and not is_donor_id(donor_id):
        raise unauthorized("the 'donor_id' claim must be 1-64 characters of a-z, 0-9 and '-'")
    exp = claims.get("exp")
    return Principal(
        sub=str(claims["sub"]),
        role=role,
        region=region,
        donor_id=donor_id,
        expires_at=float(exp) if exp is not None else None,
    )


def mint_token(
    *,
    secret: str,
    sub: str,
    role: Role,
    region: str | None = None,
    donor_id: str | None = None,
    ttl_s: int = 12 * 3600,
) -> str:
    """Sign an HS256 token (for `vidnova token`, the demo and tests)."""
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role,
        "exp": int(time.time()) + ttl_s,
        "iat": int(time.time()),
    }
    if region:
        claims["region"] = region
    if donor_id:
        claims["donor_id"] = donor_id
    return jwt.encode(claims, secret, algorithm="HS256")


def unauthorized(detail: str) -> Problem:
    """A 401 problem with the challenge header RFC 6750 asks for."""
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="vidnova"'})


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """FastAPI dependency: the verified caller, or 401; events the request builds name them as actor."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("missing bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(credentials.credentials)
    limiter: WriteLimiter | None = getattr(request.app.state, "write_limiter", None)
    if limiter is not None and request.method in WRITE_METHODS:
        limiter.check(principal.sub)  # after verification: a forged token cannot spend someone's budget
    bind_actor(principal.sub)  # async dependency: same task as the endpoint, which ends with the request
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """FastAPI dependency factory: the caller must hold one of these roles, else 403."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Problem(
                403, "Forbidden", f"role {principal.role!r} may not do this; allowed: {', '.join(roles)}"
            )
        return principal

    return dependency
