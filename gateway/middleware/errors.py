"""Every failure becomes an openEO error JSON `{id, code, message, links}` with its HTTP status.

- `OpenEOError` (raised by handlers or mapped from gRPC) -> its code and status
- gRPC failures -> `backend_common.errors.from_rpc_error` (UNAVAILABLE/DEADLINE -> 503)
- aiohttp HTTP exceptions (unknown route, 405, 413, ...) -> matching openEO / gateway code
- the client hanging up (a write or read on a closed connection, or the handler cancelled because
  the connection is gone) -> nothing to answer: one info line `client_disconnected`, no traceback
- anything else -> 500 `Internal`, traceback only in the log
A failure after a streamed response started cannot change the status any more: the connection
is closed so the client sees a truncated body (see `gateway.streaming`).
"""

from __future__ import annotations

import asyncio
import json

import grpc
from aiohttp import web

from backend_common.errors import OpenEOError, from_rpc_error
from backend_common.logging import get_logger
from gateway.errors import api_error
from gateway.middleware.request_id import request_id_of

log = get_logger("gateway.errors")

_HTTP_CODES = {
    400: "JsonInvalid",
    401: "AuthenticationRequired",
    403: "PermissionsInsufficient",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "ContentTypeInvalid",
}


def error_response(request: web.BaseRequest, err: OpenEOError, headers: dict | None = None) -> web.Response:
    body = {"id": request_id_of(request) or "", "code": err.code, "message": err.message, "links": []}
    return web.Response(
        status=err.status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers=headers,
    )


def _from_http_exception(exc: web.HTTPException) -> tuple[OpenEOError, dict | None]:
    headers = None
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = sorted(m for m in exc.allowed_methods if m != "HEAD")
        headers = {"Allow": ", ".join(allowed)}
        return api_error("MethodNotAllowed", f"Method {exc.method} is not allowed here. Allowed: {', '.join(allowed)}."), headers
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return api_error("PayloadTooLarge"), None
    if isinstance(exc, web.HTTPNotFound):
        return api_error("NotFound", "Resource not found: no such endpoint."), None
    code = _HTTP_CODES.get(exc.status)
    if code:
        return api_error(code, status=exc.status), None
    if exc.status >= 500:
        return api_error("Internal", "Server error."), None
    return OpenEOError("BadRequest" if exc.status == 400 else "HttpError", exc.reason or "Request failed.", exc.status), None


def client_gone(request: web.BaseRequest) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


@web.middleware
async def errors_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except OpenEOError as err:
        if err.status >= 500:
            log.warning("request_failed", code=err.code, status=err.status, error=err.message)
        response = error_response(request, err, getattr(err, "headers", None))
        if err.status == 408:
            response.force_close()  # the rest of a too slow body is not waited for
        return response
    except grpc.RpcError as err:
        mapped = from_rpc_error(err)
        # the user's mistakes (4xx) are routine: info; the services' failures (5xx) are warnings
        (log.warning if mapped.status >= 500 else log.info)(
            "rpc_failed",
            grpc_code=str(err.code()) if hasattr(err, "code") else None,
            code=mapped.code,
            status=mapped.status,
        )
        return error_response(request, mapped)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects, 204 ...
        mapped, headers = _from_http_exception(exc)
        return error_response(request, mapped, headers)
    except asyncio.CancelledError:
        if client_gone(request):
            log.info("client_disconnected", method=request.method, path=request.path)
        raise
    except ConnectionError:
        if client_gone(request):
            log.info("client_disconnected", method=request.method, path=request.path)
            raise
        log.exception("request_internal_error", method=request.method, path=request.path)
        return error_response(request, api_error("Internal", "Server error: the request could not be processed."))
    except Exception:  # noqa: BLE001 - never leak internals to the client
        log.exception("request_internal_error", method=request.method, path=request.path)
        return error_response(request, api_error("Internal", "Server error: the request could not be processed."))
