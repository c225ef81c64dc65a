"""Small request/response helpers shared by the routes."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

from aiohttp import web

from backend_common.json_documents import JsonRefused, loads_strict, valid_unicode
from gateway.errors import api_error
from gateway.keys import SETTINGS


def json_response(body, status: int = 200, headers: dict | None = None, content_type: str = "application/json") -> web.Response:
    return web.Response(status=status, body=encode_json(body), content_type=content_type, headers=headers)


def encode_json(body) -> bytes:
    """Standard UTF-8 JSON. Documents stored before the gateway was strict may hold lone
    surrogates (from `\\ud83d` escapes) or NaN/Infinity: they become U+FFFD and null instead of
    failing the whole response or answering something that is not JSON."""
    try:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN or Infinity somewhere
        text = json.dumps(json.loads(json.dumps(body), parse_constant=lambda _: None), ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return valid_unicode(text).encode()


def raw_json_response(text: str, status: int = 200) -> web.Response:
    """A JSON document produced by a service (already serialized)."""
    try:
        body = text.encode()
    except UnicodeEncodeError:
        body = valid_unicode(text).encode()
    return web.Response(status=status, body=body, content_type="application/json")


#: Deepest JSON nesting accepted (objects and arrays). A process graph with callbacks 32 levels
#: deep (the compiler's limit) stays below it; the services handle this depth without recursion errors.
MAX_JSON_DEPTH = 200
#: Bodies at least this large are parsed in a worker thread.
PARSE_INLINE_BYTES = 256 * 1024


def parse_json(raw: bytes | str):
    """Standard JSON only (`backend_common.json_documents.loads_strict`: no NaN/Infinity, numbers
    of bounded size, valid Unicode, nesting at most MAX_JSON_DEPTH); 400 JsonInvalid otherwise."""
    try:
        return loads_strict(raw, max_depth=MAX_JSON_DEPTH)
    except JsonRefused as err:
        if "nested" in str(err):
            raise api_error("JsonInvalid", f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.") from None
        raise api_error("JsonInvalid", f"The request body is not valid JSON: {err}.") from None


async def read_json_object(request: web.Request) -> dict:
    """The request body as a JSON object; 413 when too large, 408 when it does not arrive within
    GATEWAY_BODY_TIMEOUT_SECONDS, 400 JsonInvalid when malformed (see `parse_json`)."""
    settings = request.app[SETTINGS]
    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise api_error("PayloadTooLarge", f"The request body is too large (limit {limit} bytes).")
    try:
        async with asyncio.timeout(settings.body_timeout_seconds):
            raw = await request.read()  # aiohttp enforces client_max_size for chunked bodies
    except TimeoutError:
        raise api_error("RequestTimeout", f"The request body did not arrive within {settings.body_timeout_seconds:g} s.") from None
    if not raw.strip():
        raise api_error("JsonInvalid", "The request body is empty; a JSON object is required.")
    # a few MB of JSON take tens of milliseconds to parse and check: not on the event loop
    body = parse_json(raw) if len(raw) < PARSE_INLINE_BYTES else await asyncio.to_thread(parse_json, raw)
    if not isinstance(body, dict):
        raise api_error("JsonInvalid", "The request body must be a JSON object.")
    return body


def public_url(request: web.Request, path: str, query: dict | None = None) -> str:
    base = request.app[SETTINGS].public_url
    url = base + path
    if query:
        url += "?" + urlencode(query)
    return url


def parse_limit(request: web.Request) -> int:
    """The `limit` query parameter (0 = not given)."""
    text = request.query.get("limit", "")
    if text == "":
        return 0
    try:
        value = int(text)
    except ValueError:
        raise api_error("ParameterInvalid", "Query parameter 'limit' must be a positive integer.") from None
    if value < 1:
        raise api_error("ParameterInvalid", "Query parameter 'limit' must be a positive integer.")
    return min(value, 10_000)


def next_links(request: web.Request, path: str, next_token: str, limit: int, extra: dict | None = None) -> list[dict]:
    """`links` of a listing: a `next` link carrying the opaque token, when there is a next page."""
    if not next_token:
        return []
    query = dict(extra or {})
    if limit:
        query["limit"] = str(limit)
    query["next"] = next_token
    return [{"rel": "next", "href": public_url(request, path, query), "type": "application/json"}]


def loads_or(text: str, default):
    """JSON from a `*_json` field ("" -> default)."""
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


#: Longest texts accepted (characters); the API sets none, these are generous for people writing
#: them and keep every listing small. Ids in paths are limited by MAX_ID_CHARS.
MAX_TEXT_CHARS = {"title": 1_000, "summary": 1_000, "description": 100_000}
MAX_ID_CHARS = 256


def optional_string(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise api_error("ParameterInvalid", f"Property '{key}' must be a string or null.")
    limit = MAX_TEXT_CHARS.get(key)
    if value is not None and limit is not None and len(value) > limit:
        raise api_error("ParameterInvalid", f"Property '{key}' is longer than {limit} characters.")
    return value


def optional_number(body: dict, key: str) -> float | None:
    value = body.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise api_error("ParameterInvalid", f"Property '{key}' must be a number or null.")
    if value is not None and value < 0:
        raise api_error("BudgetInvalid" if key == "budget" else "ParameterInvalid", f"Property '{key}' must not be negative.")
    return value


LOG_LEVELS = ("debug", "info", "warning", "error")


def optional_log_level(body: dict, key: str = "log_level") -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if value not in LOG_LEVELS:
        raise api_error("ParameterInvalid", f"Property '{key}' must be one of {', '.join(LOG_LEVELS)}.")
    return value


def process_of(body: dict, key: str = "process") -> dict:
    """The openEO process object ({"process_graph": {...}, ...}) of a request body."""
    process = body.get(key)
    if process is None:
        raise api_error("ProcessGraphMissing", f"Property '{key}' with a process graph is required.")
    if not isinstance(process, dict):
        raise api_error("ProcessInvalid", f"Property '{key}' must be an object.")
    graph = process.get("process_graph")
    if graph is None:
        raise api_error("ProcessGraphMissing")
    if not isinstance(graph, dict) or not graph:
        raise api_error("ProcessGraphInvalid", "The process graph must be a non-empty object of nodes.")
    return process
