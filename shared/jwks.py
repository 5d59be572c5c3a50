"""Signing keys from an OpenID Connect provider's JWKS URL, fetched without blocking the event loop.

Keys are cached for ``ttl_s`` (a revoked key stops being trusted within that time); a token whose
``kid`` is not in the cache triggers a fetch at most once per ``min_refresh_s`` (a flood of made-up
key ids cannot hammer the provider or the process); one fetch runs at a time and everyone waiting
shares it. When the provider cannot be reached, the last keys stay usable for one more TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import httpx
import jwt

log = logging.getLogger(__name__)
NO_KEYS_RETRY_S = 5.0


class KeysUnavailable(Exception):
    """No usable key set: the provider has not answered within the time keys may be kept."""


class JwksKeys:
    """A TTL cache of one JWKS document's keys, refreshed asynchronously."""

    def __init__(
        self, url: str, *, ttl_s: float = 300.0, min_refresh_s: float = 60.0, timeout_s: float = 5.0
    ) -> None:
        self.url = url
        self.ttl_s = ttl_s
        self.min_refresh_s = min_refresh_s
        self.timeout_s = timeout_s
        self._keys: dict[str | None, Any] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch attempt, successful or not
        self._fetch: asyncio.Task[None] | None = None
        # One client for the process: building one loads the CA bundle, ~50 ms of CPU on the loop.
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def key_for(self, kid: str | None) -> Any:
        """The verification key for a token's ``kid``; KeyError if the provider does not publish it."""
        now = time.monotonic()
        if self._fetched_at is None or now - self._fetched_at >= self.ttl_s:
            await self._refresh_or_keep_stale(now)
        if kid not in self._keys and self._may_refresh(now, self.min_refresh_s):
            with contextlib.suppress(KeysUnavailable):  # the key stays unknown: the token is refused
                await self._shared_fetch()
        return self._keys[kid]

    async def _refresh_or_keep_stale(self, now: float) -> None:
        # Expired keys are refreshed at most every few seconds while the provider fails.
        if self._may_refresh(now, min(self.min_refresh_s, NO_KEYS_RETRY_S)):
            with contextlib.suppress(KeysUnavailable):  # judged below: stale keys may still do
                await self._shared_fetch()
        if self._fetched_at is None or time.monotonic() - self._fetched_at >= 2 * self.ttl_s:
            raise KeysUnavailable(f"no keys from {self.url} within {2 * self.ttl_s:g} s")

    def _may_refresh(self, now: float, interval_s: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= interval_s

    async def _shared_fetch(self) -> None:
        if self._fetch is None or self._fetch.done():
            self._fetch = asyncio.ensure_future(self._load())
        # Shielded: a caller that gives up (client gone) does not cancel the others' fetch.
        await asyncio.shield(self._fetch)

    async def _load(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            response = await self._client.get(self.url)
            response.raise_for_status()
            key_set = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            log.warning("JWKS fetch failed", extra={"url": self.url, "error": f"{type(exc).__name__}: {exc}"})
            raise KeysUnavailable(f"{type(exc).__name__}: {exc}") from exc
        keys: dict[str | None, Any] = {k.key_id: k.key for k in key_set.keys}
        if len(key_set.keys) == 1:
            keys.setdefault(None, key_set.keys[0].key)  # a token without kid, one key published
        self._keys = keys
        self._fetched_at = time.monotonic()
        log.info("JWKS keys loaded", extra={"url": self.url, "kids": sorted(k for k in keys if k)})
