"""Limits on the request head, answered as openEO errors.

aiohttp's own HTTP parser refuses header lines above its `max_field_size` / `max_line_size` with a
plain-text 400 that repeats the first bytes of the line, before any middleware runs. The gateway
therefore gives the parser generous limits (`PARSER_MAX_LINE_BYTES`, see `server_options`) and
checks the real limit (`GATEWAY_MAX_HEADER_BYTES`) here: 431 `HeaderTooLarge` (414 for the URL),
naming the header but never echoing its value. What still fails in the parser (heads above the
parser limits, malformed request lines) is logged as one JSON line without the offending bytes
(`ParserErrorLogger`).
"""

from __future__ import annotations

from aiohttp import web

from backend_common.logging import get_logger
from gateway.errors import api_error
from gateway.keys import SETTINGS

#: aiohttp parser limits (request line, each header line): far above GATEWAY_MAX_HEADER_BYTES.
PARSER_MAX_LINE_BYTES = 64 * 1024

log = get_logger("gateway.http")


@web.middleware
async def header_limits_middleware(request: web.Request, handler):
    limit = request.app[SETTINGS].max_header_bytes
    if len(request.raw_path) > limit:
        raise api_error("UriTooLong", f"The request URL is longer than {limit} bytes.")
    for name, value in request.raw_headers:
        if len(name) + len(value) > limit:
            shown = name[:64].decode("latin-1")
            raise api_error("HeaderTooLarge", f"The request header '{shown}' is longer than {limit} bytes.")
    return await handler(request)


class ParserErrorLogger:
    """Stands in for aiohttp's `aiohttp.server` logger in the gateway's connections.

    aiohttp logs a request head it cannot parse with the exception, whose text holds the first
    bytes of the offending line (e.g. an Authorization header). This logs the error's class only,
    at info level (the client's mistake), as a JSON line. Other failures keep their traceback.
    """

    def _log(self, level: str, msg, *args, exc_info=None, **_kw) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else None
        if isinstance(msg, str) and msg.startswith("Error handling request"):
            log.info("http_request_unparsable", error=type(exc).__name__ if exc else None)
            return
        event = getattr(log, level)
        if exc is not None and level in ("error", "exception"):
            log.error("http_server_error", error=type(exc).__name__, exc_info=exc)
        else:
            event("aiohttp_server", message=str(msg)[:200])

    def debug(self, msg, *args, **kw) -> None:
        pass  # aiohttp's premature-disconnect notes; the access log has each request

    def info(self, msg, *args, **kw) -> None:
        self._log("info", msg, *args, **kw)

    def warning(self, msg, *args, **kw) -> None:
        self._log("warning", msg, *args, **kw)

    def error(self, msg, *args, **kw) -> None:
        self._log("error", msg, *args, **kw)

    def exception(self, msg, *args, exc_info=True, **kw) -> None:
        self._log("exception", msg, *args, exc_info=exc_info, **kw)

    def isEnabledFor(self, level) -> bool:  # noqa: N802 - logging.Logger's name
        return True


def server_options(settings) -> dict:
    """aiohttp connection settings (`web.Application(handler_args=...)`; they take precedence over
    `web.run_app`'s): idle/keep-alive timeout, which also bounds how long a request head may take
    to arrive, the parser's line limits, and the logger above."""
    return {
        "keepalive_timeout": settings.idle_timeout_seconds,
        # an unread request body (answered before it was read) is drained this long at most
        "lingering_time": min(2.0, settings.idle_timeout_seconds),
        "max_line_size": PARSER_MAX_LINE_BYTES,
        "max_field_size": PARSER_MAX_LINE_BYTES,
        "logger": ParserErrorLogger(),
    }
