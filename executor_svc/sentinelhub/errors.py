"""Turning Sentinel Hub failures into openEO errors with a clear, user-facing message."""

from __future__ import annotations

import json

from backend_common.errors import OpenEOError

SH_ERROR = "SentinelHubError"


def sh_error_detail(body: bytes) -> tuple[str | None, str | None]:
    """(Sentinel Hub error code, message) from an error body, in any of the shapes SH uses."""
    if not body:
        return None, None
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        text = body[:300].decode("utf-8", "replace").strip()
        return None, text or None
    if not isinstance(doc, dict):
        return None, None
    inner = doc.get("error") if isinstance(doc.get("error"), dict) else doc
    code = inner.get("code")
    message = inner.get("message") or inner.get("description") or inner.get("error_description")
    if message is None and isinstance(doc.get("error"), str):
        message = doc["error"]
    return (str(code) if code is not None else None), (str(message) if message is not None else None)


def client_error(status: int, body: bytes, what: str) -> OpenEOError:
    """A non-retryable 4xx from Sentinel Hub."""
    code, message = sh_error_detail(body)
    detail = f" ({code})" if code else ""
    text = f"Sentinel Hub rejected the {what} with HTTP {status}{detail}: {message or 'no details given'}"
    if status == 403:
        return OpenEOError(SH_ERROR, text, 403)
    if status == 404:
        return OpenEOError(SH_ERROR, text, 404)
    if status == 413:
        return OpenEOError(SH_ERROR, text, 413)
    return OpenEOError(SH_ERROR, text, 400)


def upstream_failure(reason: str, attempts: int, what: str, status: int = 502) -> OpenEOError:
    """Sentinel Hub kept failing (5xx, 429, timeouts) until the retries ran out."""
    return OpenEOError(
        SH_ERROR,
        f"Sentinel Hub failed to answer the {what} after {attempts} attempt(s): {reason}. Please try again later.",
        status,
    )


def user_token_rejected() -> OpenEOError:
    return OpenEOError(
        "TokenInvalid",
        "Sentinel Hub rejected your access token (expired or invalid). Please log in again.",
        403,
    )


def backend_credentials_rejected(status: int, body: bytes) -> OpenEOError:
    code, message = sh_error_detail(body)
    return OpenEOError(
        SH_ERROR,
        f"The backend could not authenticate with Sentinel Hub (HTTP {status}"
        f"{', ' + code if code else ''}): {message or 'credentials rejected'}.",
        502,
    )
