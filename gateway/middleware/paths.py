"""Lenient paths: `/jobs/`, `//jobs/{id}` and `/jobs//{id}/results` are served as `/jobs`,
`/jobs/{id}` and `/jobs/{id}/results` (issue 20: the old backend and several clients send them).

Only a path that matches no route is normalized (repeated slashes collapsed, a trailing slash
dropped, `/` itself kept) and, when the normalized path matches a route, the request is
dispatched again with it, method, headers, query and body unchanged. Serving rather than
redirecting keeps POST/PUT/PATCH bodies working with clients that do not follow 307/308.
This middleware must be the outermost one: the dispatch runs every other middleware once.
"""

from __future__ import annotations

import re

from aiohttp import web

_SLASHES = re.compile(r"/{2,}")


def normalized(raw_path: str) -> str:
    path = _SLASHES.sub("/", raw_path)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


@web.middleware
async def paths_middleware(request: web.Request, handler):
    exception = request.match_info.http_exception
    if not isinstance(exception, web.HTTPNotFound):
        return await handler(request)
    raw_path = request.rel_url.raw_path
    path = normalized(raw_path)
    if path == raw_path:
        return await handler(request)
    url = request.rel_url.with_path(path, encoded=True).with_query(request.rel_url.query)
    clone = request.clone(rel_url=url)
    match_info = await request.app.router.resolve(clone)
    if isinstance(match_info.http_exception, web.HTTPNotFound):
        return await handler(request)  # still no route: the usual 404 of the original path
    # The application's own dispatch (routing, then every middleware) for the normalized request.
    return await request.app._handle(clone)
