"""Kubernetes probes (not openEO endpoints): /healthz (process alive), /readyz (services reachable)."""

from __future__ import annotations

from aiohttp import web

from gateway import routing
from gateway.http import json_response
from gateway.keys import CLIENTS, SETTINGS


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    states = await request.app[CLIENTS].health(settings.ready_services, settings.readiness_timeout_seconds)
    ready = all(state == "SERVING" for state in states.values())
    return json_response({"status": "ok" if ready else "unavailable", "services": states}, status=200 if ready else 503)


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/healthz", healthz, hidden=True)
    routing.add(app, "GET", "/readyz", readyz, hidden=True)
