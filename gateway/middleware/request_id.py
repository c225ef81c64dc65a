"""Request id and JSON access log.

Takes the client's `X-Request-Id` (when it is a sane token) or mints one, binds it to the logging
context (so it is in every log line and travels to every service in gRPC metadata) and echoes it
in the response header. Logs one `http_request` line per request with status and duration
(499 when the client hung up before the answer).
"""

from __future__ import annotations

import asyncio
import re
import time

from aiohttp import web

from backend_common.logging import get_logger, new_request_id, set_request_id

log = get_logger("gateway.access")

HEADER = "X-Request-Id"
REQUEST_ID = web.RequestKey("request_id", str) if hasattr(web, "RequestKey") else "request_id"
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_of(request: web.BaseRequest) -> str | None:
    return request.get(REQUEST_ID)


@web.middleware
async def request_id_middleware(request: web.Request, handler):
    incoming = request.headers.get(HEADER, "")
    request_id = incoming if _SANE.match(incoming) else new_request_id()
    request[REQUEST_ID] = request_id
    set_request_id(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except (ConnectionError, asyncio.CancelledError):
        transport = request.transport
        if transport is None or transport.is_closing():
            status = 499  # the client closed the connection (nginx's convention)
        raise
    finally:
        log.info(
            "http_request",
            method=request.method,
            path=request.path,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            remote=request.remote,
        )


async def echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: works for streamed responses too."""
    request_id = request.get(REQUEST_ID)
    if request_id:
        response.headers[HEADER] = request_id
