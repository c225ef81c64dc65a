"""Sentinel Hub error bodies."""
from __future__ import annotations

from aiohttp import web

REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 415: "Unsupported Media Type",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}

DEFAULT_CODES = {400: "COMMON_BAD_PAYLOAD", 401: "COMMON_UNAUTHORIZED", 403: "COMMON_INSUFFICIENT_PERMISSIONS",
                 404: "COMMON_NOT_FOUND", 405: "COMMON_METHOD_NOT_ALLOWED", 415: "COMMON_UNSUPPORTED_MEDIA_TYPE",
                 429: "RATE_LIMIT_EXCEEDED"}


class SHError(Exception):
    """An error answered with Sentinel Hub's ``{"error": {...}}`` body."""

    def __init__(self, status: int, message: str, code: str | None = None, errors=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or DEFAULT_CODES.get(status, "COMMON_EXCEPTION")
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict:
        err = {"status": self.status, "reason": REASONS.get(self.status, "Error"),
               "message": self.message, "code": self.code}
        if self.errors is not None:
            err["errors"] = self.errors
        return {"error": err}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def bad_request(message: str, code: str = "COMMON_BAD_PAYLOAD") -> SHError:
    return SHError(400, message, code)


def renderer_error(message: str) -> SHError:
    return SHError(400, message, "RENDERER_EXCEPTION")
