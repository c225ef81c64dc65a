"""JWKS cache for RS256 JWT verification (reusable by the future OIDC verifier).

Keys are fetched lazily, refreshed when older than `max_age`, and refetched on an unknown `kid`
but not more often than once per `min_refresh` seconds (so forged kids cannot hammer the issuer).
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import jwt

from backend_common.logging import get_logger
from gateway.errors import api_error

log = get_logger(__name__)


class JwksCache:
    def __init__(self, url: str, session_getter, *, min_refresh: float = 30.0, max_age: float = 3600.0):
        self.url = url
        self._session_getter = session_getter
        self.min_refresh = min_refresh
        self.max_age = max_age
        self._keys: dict[str | None, object] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float = float("-inf")
        self._lock = asyncio.Lock()

    async def _fetch(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            session: aiohttp.ClientSession = self._session_getter()
            async with session.get(self.url) as resp:
                if resp.status != 200:
                    raise ValueError(f"JWKS endpoint answered {resp.status}")
                document = json.loads(await resp.read())
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, OSError) as err:
            log.warning("jwks_fetch_failed", url=self.url, error=str(err))
            if self._fetched_at is None:
                raise api_error(
                    "ServiceUnavailable", "The authentication service is temporarily unavailable."
                ) from None
            return  # keep the keys we have
        keys: dict[str | None, object] = {}
        for entry in document.get("keys", []):
            if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry.get("kid")] = jwt.PyJWK.from_dict(entry, algorithm="RS256").key
            except (jwt.PyJWKError, KeyError, ValueError):
                continue
        self._keys = keys
        self._fetched_at = time.monotonic()
        log.info("jwks_fetched", url=self.url, keys=len(keys))

    async def key_for(self, kid: str | None):
        """The public key for `kid` (a single key when the token names none), or None."""
        async with self._lock:
            now = time.monotonic()
            if self._fetched_at is None or now - self._fetched_at > self.max_age:
                if now - self._attempted_at >= 1.0:
                    await self._fetch()
                elif self._fetched_at is None:
                    raise api_error("ServiceUnavailable", "The authentication service is temporarily unavailable.")
            key = self._lookup(kid)
            if key is None and time.monotonic() - self._attempted_at >= self.min_refresh:
                await self._fetch()
                key = self._lookup(kid)
            return key

    def _lookup(self, kid: str | None):
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)
