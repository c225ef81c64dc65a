"""OAuth client-credentials tokens, cached per (token URL, client id), and user bearer tokens."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import random
import time
from dataclasses import dataclass

import aiohttp
import jwt

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger

from .errors import backend_credentials_rejected, upstream_failure
from .retry import backoff_delay, retry_after_seconds

log = get_logger(__name__)


@dataclass
class _Token:
    value: str
    refresh_at: float  # monotonic time after which the token is refreshed before use


class TokenCache:
    """One token per (token URL, client id), fetched once for any number of concurrent waiters.

    Tokens are refreshed `margin` seconds before they expire (half their lifetime for tokens
    shorter than 2 × margin). `get(..., stale=token)` forces a refresh unless another caller
    already replaced that token (one refresh per 401 storm).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        margin: float = 60.0,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
        clock=time.monotonic,
        rng: random.Random | None = None,
    ):
        self._session = session
        self._margin = margin
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._max_retry_after = max_retry_after
        self._clock = clock
        self._rng = rng or random.Random()
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.fetches = 0

    async def get(self, token_url: str, client_id: str, client_secret: str, *, stale: str | None = None) -> str:
        key = (token_url, client_id)
        cached = self._tokens.get(key)
        if cached is not None and cached.value != stale and self._clock() < cached.refresh_at:
            return cached.value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.value != stale and self._clock() < cached.refresh_at:
                return cached.value
            token = await self._fetch(token_url, client_id, client_secret)
            self._tokens[key] = token
            return token.value

    async def _fetch(self, token_url: str, client_id: str, client_secret: str) -> _Token:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        reason = "no answer"
        for attempt in range(self._max_retries + 1):
            started = self._clock()
            retry_wait = None
            try:
                async with self._session.post(token_url, data=form, timeout=self._timeout) as resp:
                    body = await resp.read()
                    status = resp.status
                    headers = resp.headers
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError) as exc:
                reason = f"{type(exc).__name__}"
                status, body, headers = None, b"", {}
            if status is not None and 200 <= status < 300:
                try:
                    doc = json.loads(body)
                    value = doc["access_token"]
                    lifetime = float(doc.get("expires_in") or _jwt_lifetime(value) or 300.0)
                except (ValueError, KeyError, TypeError):
                    raise upstream_failure("malformed token response", attempt + 1, "token request") from None
                self.fetches += 1
                margin = min(self._margin, lifetime / 2)
                log.info("sh_token_fetched", token_url=token_url, client_id=client_id, expires_in=lifetime)
                return _Token(value, started + lifetime - margin)
            if status is not None and status != 429 and status < 500:
                log.warning("sh_token_rejected", token_url=token_url, client_id=client_id, status=status)
                raise backend_credentials_rejected(status, body)
            if status is not None:
                reason = f"HTTP {status}"
                if status == 429:
                    retry_wait = retry_after_seconds(headers, self._max_retry_after)
            if attempt >= self._max_retries:
                break
            wait = retry_wait if retry_wait is not None else backoff_delay(
                attempt, self._backoff_base, self._backoff_max, self._rng
            )
            log.warning("sh_token_retry", token_url=token_url, reason=reason, attempt=attempt + 1, wait_s=round(wait, 3))
            await asyncio.sleep(wait)
        raise upstream_failure(reason, self._max_retries + 1, "token request", 503)


def _jwt_lifetime(token: str) -> float | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        return float(claims["exp"]) - time.time()
    except Exception:  # noqa: BLE001 - not a JWT or no exp: caller falls back
        return None


class Auth:
    """How one call authenticates: the backend's client credentials or a user's bearer token."""

    account_key: str
    refreshable: bool

    async def token(self, stale: str | None = None) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class ClientCredentialsAuth(Auth):
    refreshable = True

    def __init__(self, cache: TokenCache, token_url: str, client_id: str, client_secret: str):
        self._cache = cache
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self.account_key = f"client:{token_url}:{client_id}"

    async def token(self, stale: str | None = None) -> str:
        return await self._cache.get(self._token_url, self._client_id, self._client_secret, stale=stale)


class BearerAuth(Auth):
    """A caller-provided Sentinel Hub access token (the user's own account); never refreshed."""

    refreshable = False

    def __init__(self, token: str):
        if not token:
            raise OpenEOError("AuthenticationRequired", "A Sentinel Hub access token is required.", 401)
        self._token = token
        self.account_key = "user:" + account_of(token)

    async def token(self, stale: str | None = None) -> str:
        return self._token


@functools.lru_cache(maxsize=1024)
def account_of(token: str) -> str:
    """The Sentinel Hub account a bearer token belongs to (JWT `account` or `sub`), else a hash."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
        ident = claims.get("account") or claims.get("sub")
        if ident:
            return str(ident)
    except Exception:  # noqa: BLE001 - opaque tokens are fine
        pass
    return hashlib.sha256(token.encode()).hexdigest()[:16]
