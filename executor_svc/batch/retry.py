"""Bounded retries for the store / compiler / S3 calls a batch job depends on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

T = TypeVar("T")

_TRANSIENT_GRPC = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


class DependencyDown(Exception):
    """A dependency stayed unavailable for every attempt."""

    def __init__(self, what: str, attempts: int, cause: BaseException):
        super().__init__(f"{what} failed {attempts} times in a row ({type(cause).__name__}: {_short(cause)})")
        self.what = what
        self.attempts = attempts
        self.cause = cause


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
                raise DependencyDown(what, attempts, exc) from exc
            if on_retry is not None:
                on_retry(attempt, exc)
            await asyncio.sleep(min(max_delay, base_delay * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")
