"""GET /me: the authenticated user, their default billing plan, its limits and this month's
spending (`budget`: the processing units left of the plan's monthly limit)."""

from __future__ import annotations

from aiohttp import web

from backend_proto.v1 import store_pb2
from gateway import billing, routing
from gateway.auth import require_user
from gateway.http import json_response
from gateway.keys import CLIENTS


async def me(request: web.Request) -> web.Response:
    user = await require_user(request)
    plan = billing.plans_of(request).get(None)
    spending = await request.app[CLIENTS].store.GetUserSpending(store_pb2.UserSpendingRequest(user_id=user.user_id))
    monthly = plan.limits.processing_units_per_month
    body = {
        "user_id": user.user_id,
        "name": user.name or user.user_id.split(":", 1)[-1],
        "default_plan": plan.name,
        "budget": round(max(0.0, monthly - spending.processing_units), 6) if monthly else None,
        "storage": None,
        "spending": {"month": spending.month, "processing_units": round(spending.processing_units, 6),
                     "active_jobs": spending.active_jobs},
        "limits": plan.public()["limits"],
        "links": [
            {"rel": "related", "href": "https://apps.sentinel-hub.com/dashboard/", "type": "text/html",
             "title": "Sentinel Hub dashboard (account, processing units)"},
        ],
    }
    return json_response(body)


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/me", me)
