"""Retries of the store / compiler / S3 calls a batch job depends on.

Two budgets: `with_retries` (a number of attempts, for short hiccups) and `retry_for` (a window of
time with exponential backoff, for the calls that must survive a realistic outage of MongoDB, the
store or S3: uploads, the completion manifest, job logs, the final state). `DependencyDown` keeps
the technical cause (endpoint, bucket, key: for the service log) apart from `public`, the only text
a user may see.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

T = TypeVar("T")

_TRANSIENT_GRPC = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


class DependencyDown(Exception):
    """A dependency stayed unavailable for every attempt. `str()` is for the service log only;
    `public` names the step without any internal detail."""

    def __init__(self, what: str, attempts: int, cause: BaseException, public: str | None = None):
        super().__init__(f"{what} failed {attempts} times in a row ({type(cause).__name__}: {_short(cause)})")
        self.what = what
        self.attempts = attempts
        self.cause = cause
        self.public = public or what


def _short(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name} {exc.details() or ''}".strip()
    return str(exc)[:200]


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, grpc.aio.AioRpcError):
        return exc.code() in _TRANSIENT_GRPC
    try:
        from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, HTTPClientError

        if isinstance(exc, (BotoConnectionError, HTTPClientError)):
            return True
        if isinstance(exc, ClientError):
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            return status >= 500 or status == 429
    except ImportError:  # pragma: no cover
        pass
    try:
        import aiohttp

        if isinstance(exc, aiohttp.ClientError):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, (asyncio.TimeoutError, ConnectionError, OSError))


async def with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    what: str,
    attempts: int,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    on_retry: Callable[[int, BaseException], None] | None = None,
    public: str | None = None,
) -> T:
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified below
            if not is_transient(exc):
                raise
            if attempt == attempts:
                raise DependencyDown(what, attempts, exc, public) from exc
            if on_retry is not None:
                on_retry(attempt, exc)
            await asyncio.sleep(min(max_delay, base_delay * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")


async def retry_for(
    fn: Callable[[], Awaitable[T]],
    *,
    what: str,
    seconds: float,
    min_attempts: int = 2,
    base_delay: float = 0.5,
    max_delay: float = 15.0,
    on_retry: Callable[[int, BaseException], None] | None = None,
    public: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Calls `fn` until it succeeds; transient failures are retried with exponential backoff
    (capped at `max_delay`) until `seconds` have passed and at least `min_attempts` were made,
    then DependencyDown. Other failures are raised at once."""
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified below
            if not is_transient(exc):
                raise
            elapsed = clock() - started
            if attempt >= min_attempts and elapsed >= seconds:
                raise DependencyDown(what, attempt, exc, public) from exc
            if on_retry is not None:
                on_retry(attempt, exc)
            delay = min(max_delay, base_delay * 2 ** min(attempt - 1, 30))
            if attempt >= min_attempts:
                delay = min(delay, max(0.0, seconds - elapsed)) or min(base_delay, max_delay)
            await asyncio.sleep(delay)
