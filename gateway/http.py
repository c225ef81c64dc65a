"""Small request/response helpers shared by the routes."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from aiohttp import web

from gateway.errors import api_error
from gateway.keys import SETTINGS


def json_response(body, status: int = 200, headers: dict | None = None, content_type: str = "application/json") -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type=content_type,
        headers=headers,
    )


def raw_json_response(text: str, status: int = 200) -> web.Response:
    """A JSON document produced by a service (already serialized)."""
    return web.Response(status=status, body=text.encode(), content_type="application/json")


async def read_json_object(request: web.Request) -> dict:
    """The request body as a JSON object; 413 when too large, 400 JsonInvalid when malformed."""
    limit = request.app[SETTINGS].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise api_error("PayloadTooLarge", f"The request body is too large (limit {limit} bytes).")
    raw = await request.read()  # aiohttp enforces client_max_size for chunked bodies
    if not raw.strip():
        raise api_error("JsonInvalid", "The request body is empty; a JSON object is required.")
    too_deep = False
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise api_error("JsonInvalid", f"The request body is not valid JSON: {_short(err)}") from None
    except RecursionError:
        too_deep = True
    if too_deep or nesting_exceeds(body, MAX_JSON_DEPTH):
        raise api_error("JsonInvalid", f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.")
    if not isinstance(body, dict):
        raise api_error("JsonInvalid", "The request body must be a JSON object.")
    return body


#: Deepest JSON nesting accepted (objects and arrays). A process graph with callbacks 32 levels
#: deep (the compiler's limit) stays below it; the services handle this depth without recursion errors.
MAX_JSON_DEPTH = 200


def nesting_exceeds(value, limit: int) -> bool:
    """True when objects/arrays in `value` nest more than `limit` levels deep (iterative)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _short(err: Exception) -> str:
    text = str(err)
    return text if len(text) < 200 else text[:200] + "..."


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


def optional_string(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise api_error("ParameterInvalid", f"Property '{key}' must be a string or null.")
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
