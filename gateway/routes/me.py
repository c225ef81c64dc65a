"""GET /me: the authenticated user."""

from __future__ import annotations

from aiohttp import web

from gateway import billing, routing
from gateway.auth import require_user
from gateway.http import json_response


async def me(request: web.Request) -> web.Response:
    user = await require_user(request)
    body = {
        "user_id": user.user_id,
        "name": user.name or user.user_id.split(":", 1)[-1],
        "default_plan": billing.DEFAULT_BILLING_PLAN,
        "budget": None,
        "storage": None,
        "links": [
            {"rel": "related", "href": "https://apps.sentinel-hub.com/dashboard/", "type": "text/html",
             "title": "Sentinel Hub dashboard (account, processing units)"},
        ],
    }
    return json_response(body)


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/me", me)
