"""CORS for every route (openEO API "Cross-Origin Resource Sharing" section).

Preflight (`OPTIONS` on any existing path) answers 204 with the allowed methods of that path.
Every response (including errors and streams) gets the CORS headers in `on_response_prepare`, as
the API requires ("MUST be included with every response"):
- a request with `Origin` (every cross-origin browser request): that origin is reflected, with
  `Access-Control-Allow-Credentials: true` (browsers send the Authorization header only then);
- a request without `Origin` (not from a browser): `Access-Control-Allow-Origin: *`, the API's
  recommended value, and never together with `Allow-Credentials` (browsers reject that pair);
- always the exposed headers the API lists (`Link, Location, OpenEO-Costs, OpenEO-Identifier`)
  plus ours, and `Vary: Origin`, since the answer depends on it (shared caches).
"""

from __future__ import annotations

from aiohttp import hdrs, web

# Content-Length and Last-Modified are CORS-safelisted: browsers show them without being told
EXPOSE_HEADERS = "Location, OpenEO-Identifier, OpenEO-Costs, Link, X-Request-Id, ETag, Content-Range, Accept-Ranges"
ALLOW_HEADERS = "Authorization, Content-Type, Accept, X-Request-Id, If-None-Match, If-Modified-Since, If-Range, Range"
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _origin(request: web.BaseRequest) -> str | None:
    origin = request.headers.get(hdrs.ORIGIN, "")
    # a header value with line breaks or controls cannot be reflected (aiohttp's parser already
    # refuses those; this keeps the rule local)
    if not origin or any(ord(c) < 0x20 or ord(c) == 0x7F for c in origin):
        return None
    return origin


def _methods_of(request: web.Request) -> list[str]:
    exc = request.match_info.http_exception
    if isinstance(exc, web.HTTPMethodNotAllowed):
        methods = set(exc.allowed_methods)
    else:
        route = request.match_info.route
        resource = route.resource if route is not None else None
        methods = {r.method for r in resource} if resource is not None else set(ALL_METHODS)
    methods.discard(hdrs.METH_HEAD)
    methods.discard("*")
    methods.add("OPTIONS")
    return sorted(methods)


@web.middleware
async def cors_middleware(request: web.Request, handler):
    if request.method == hdrs.METH_OPTIONS:
        if isinstance(request.match_info.http_exception, web.HTTPNotFound):
            return await handler(request)  # unknown path: openEO NotFound
        response = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = ", ".join(_methods_of(request))
        requested = request.headers.get("Access-Control-Request-Headers")
        response.headers["Access-Control-Allow-Headers"] = (
            f"{ALLOW_HEADERS}, {requested}" if requested else ALLOW_HEADERS
        )
        response.headers["Access-Control-Max-Age"] = "3600"
        return response
    return await handler(request)


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    origin = _origin(request)
    if origin is None:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers.popall("Access-Control-Allow-Credentials", None)
    else:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    vary = response.headers.getall(hdrs.VARY, [])
    if not any("origin" in v.lower() for v in vary):
        response.headers.add(hdrs.VARY, "Origin")
