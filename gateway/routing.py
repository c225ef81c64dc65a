"""Route registration that knows which routes are public openEO endpoints.

`GET /` lists exactly the routed openEO endpoints; operational and capability-URL routes
(health, signed downloads, tiles) are registered with `hidden=True` and not listed.
"""

from __future__ import annotations

from aiohttp import web

HIDDEN = web.AppKey("hidden_paths", set)


def add(app: web.Application, method: str, path: str, handler, *, hidden: bool = False) -> None:
    app.router.add_route(method, path, handler)
    if hidden:
        app[HIDDEN].add(path)


def endpoints(app: web.Application) -> list[dict]:
    hidden = app.get(HIDDEN, set())
    by_path: dict[str, set[str]] = {}
    for resource in app.router.resources():
        path = resource.canonical
        if path in hidden or path == "/":
            continue
        for route in resource:
            if route.method in ("HEAD", "OPTIONS", "*"):
                continue
            by_path.setdefault(path, set()).add(route.method)
    order = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [
        {"path": path, "methods": sorted(methods, key=order.index)}
        for path, methods in sorted(by_path.items())
    ]
