"""One HTTP call to Sentinel Hub with retries, per-account concurrency bound, 401 refresh and PU accounting."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDictProxy

from backend_common.logging import get_logger

from .auth import Auth
from .config import ClientConfig
from .errors import client_error, upstream_failure, user_token_rejected
from .retry import backoff_delay, retry_after_seconds

log = get_logger(__name__)

PU_HEADER = "x-processingunits-spent"


@dataclass
class ShResponse:
    status: int
    headers: CIMultiDictProxy
    body: bytes
    processing_units: float
    attempts: int

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()


class Transport:
    """Sends requests through one shared session; at most `max_concurrency` in flight per account."""

    def __init__(self, session: aiohttp.ClientSession, config: ClientConfig, rng: random.Random | None = None):
        self._session = session
        self._config = config
        self._rng = rng or random.Random()
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._timeout = aiohttp.ClientTimeout(total=config.request_timeout, sock_connect=config.connect_timeout)

    def semaphore(self, account_key: str) -> asyncio.Semaphore:
        sem = self._semaphores.get(account_key)
        if sem is None:
            sem = self._semaphores[account_key] = asyncio.Semaphore(self._config.max_concurrency)
        return sem

    async def request(
        self,
        method: str,
        url: str,
        *,
        auth: Auth,
        json_body: dict | None = None,
        headers: dict[str, str] | None = None,
        what: str = "request",
        timeout: float | None = None,
    ) -> ShResponse:
        cfg = self._config
        client_timeout = self._timeout if timeout is None else aiohttp.ClientTimeout(total=timeout)
        sem = self.semaphore(auth.account_key)
        started = time.perf_counter()
        attempts = 0
        retries = 0
        refreshed = False
        stale: str | None = None
        reason = "no answer"
        while True:
            token = await auth.token(stale=stale)
            send_headers = {"Authorization": f"Bearer {token}"}
            if headers:
                send_headers.update(headers)
            attempts += 1
            status = None
            retry_wait = None
            give_up_status = 503  # timeouts, connection errors, rate limiting: temporarily unavailable
            async with sem:
                try:
                    async with self._session.request(
                        method, url, json=json_body, headers=send_headers, timeout=client_timeout
                    ) as resp:
                        body = await resp.read()
                        status = resp.status
                        resp_headers = resp.headers
                except asyncio.TimeoutError:
                    reason = f"no answer within {client_timeout.total} s"
                except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
                    reason = f"connection error ({type(exc).__name__})"
            if status is not None:
                if 200 <= status < 300:
                    pu = _pu(resp_headers)
                    log.info(
                        "sh_call",
                        what=what,
                        method=method,
                        url=url,
                        status=status,
                        attempts=attempts,
                        processing_units=pu,
                        bytes=len(body),
                        duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    )
                    return ShResponse(status, resp_headers, body, pu, attempts)
                if status == 401:
                    if auth.refreshable and not refreshed:
                        refreshed = True
                        stale = token
                        log.info("sh_token_rejected_refreshing", what=what, url=url)
                        continue
                    log.warning("sh_unauthorized", what=what, url=url, refreshable=auth.refreshable)
                    if not auth.refreshable:
                        raise user_token_rejected()
                    raise upstream_failure("the backend's fresh token was rejected (HTTP 401)", attempts, what, 502)
                if status == 429:
                    reason = "rate limit exceeded (HTTP 429)"
                    retry_wait = retry_after_seconds(resp_headers, cfg.max_retry_after)
                elif status >= 500:
                    reason = f"HTTP {status}"
                    give_up_status = 502  # Sentinel Hub itself failing: bad gateway
                else:
                    log.warning("sh_client_error", what=what, url=url, status=status, attempts=attempts)
                    raise client_error(status, body, what)
            stale = None
            if retries >= cfg.max_retries:
                log.error("sh_gave_up", what=what, url=url, reason=reason, attempts=attempts)
                raise upstream_failure(reason, attempts, what, give_up_status)
            wait = retry_wait if retry_wait is not None else backoff_delay(
                retries, cfg.backoff_base, cfg.backoff_max, self._rng
            )
            retries += 1
            log.warning("sh_retry", what=what, url=url, reason=reason, attempt=attempts, wait_s=round(wait, 3))
            await asyncio.sleep(wait)


def _pu(headers) -> float:
    raw = headers.get(PU_HEADER)
    if raw is None:
        return 0.0
    try:
        return float(raw)
    except ValueError:
        return 0.0
