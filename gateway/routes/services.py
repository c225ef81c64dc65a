"""Secondary web services (XYZ only): /services and /services/{service_id}."""

from __future__ import annotations

import json

from aiohttp import web

from backend_proto.v1 import common_pb2, compiler_pb2, store_pb2
from gateway import billing, routing
from gateway.auth import require_user
from gateway.process_checks import validate_or_raise
from gateway.errors import api_error
from gateway.http import (
    json_response,
    loads_or,
    next_links,
    optional_log_level,
    optional_string,
    parse_limit,
    process_of,
    public_url,
    read_json_object,
)
from gateway.keys import CLIENTS, SETTINGS

SERVICE_TYPE = "XYZ"
CONFIG_CHOICES = {"tile_size": (256, 512), "format": ("png", "jpeg")}
EDITABLE = {"title", "description", "process", "enabled", "configuration", "plan", "budget", "log_level"}
READ_ONLY = {"id", "url", "type", "created", "updated", "costs", "usage", "attributes"}


def tile_url(request: web.Request, service_id: str) -> str:
    return f"{request.app[SETTINGS].public_url}/services/xyz/{service_id}/tiles/{{z}}/{{x}}/{{y}}"


def service_json(request: web.Request, svc: store_pb2.Service, *, full: bool) -> dict:
    body = {
        "id": svc.id,
        "title": svc.title or None,
        "description": svc.description or None,
        "url": tile_url(request, svc.id),
        "type": svc.type or SERVICE_TYPE,
        "enabled": svc.enabled,
        "configuration": loads_or(svc.configuration_json, {}),
        "created": svc.created,
        "plan": billing.plans_of(request).get(svc.plan).name,
        "budget": svc.budget or None,
        "log_level": svc.log_level or "info",
        # processing units its rendered tiles spent so far (cached tiles are free)
        "costs": round(svc.costs, 6),
    }
    if full:
        usage = billing.pu_usage(round(svc.costs, 6))
        usage["tiles"] = {"value": svc.tiles_rendered, "unit": "tiles rendered"}
        body["usage"] = usage
        body["process"] = loads_or(svc.process_json, {})
        body["attributes"] = {}
    return body


def check_configuration(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise api_error("ServiceConfigInvalid", "The service configuration must be an object.")
    for key, setting in value.items():
        if key not in CONFIG_CHOICES:
            raise api_error("ServiceConfigUnsupported", f"Service parameter '{key}' is not supported.")
        choices = CONFIG_CHOICES[key]
        if isinstance(setting, bool) or setting not in choices:
            allowed = ", ".join(str(c) for c in choices)
            raise api_error(
                "ServiceConfigInvalid",
                f"The value passed for the service parameter '{key}' is invalid: must be one of {allowed}.",
            )
    return value


def _enabled(body: dict) -> bool:
    value = body.get("enabled", True)
    if not isinstance(value, bool):
        raise api_error("ParameterInvalid", "Property 'enabled' must be a boolean.")
    return value


async def create_service(request: web.Request) -> web.Response:
    user = await require_user(request)
    body = await read_json_object(request)
    service_type = body.get("type")
    if not isinstance(service_type, str) or service_type.upper() != SERVICE_TYPE:
        raise api_error("ServiceUnsupported", f"Service type '{service_type}' is not supported. Supported: XYZ.")
    process = process_of(body)
    configuration = check_configuration(body.get("configuration"))
    title = optional_string(body, "title")
    description = optional_string(body, "description")
    billing_plan = billing.normalize_billing_plan(request, body.get("plan"))
    budget = billing.budget_of(body)
    log_level = optional_log_level(body)
    enabled = _enabled(body)
    await validate_or_raise(request, user, process, compiler_pb2.PURPOSE_TILE)
    svc = await request.app[CLIENTS].store.CreateService(
        store_pb2.CreateServiceRequest(
            user=user,
            title=title or "",
            description=description or "",
            process_json=json.dumps(process),
            type=SERVICE_TYPE,
            enabled=enabled,
            configuration_json=json.dumps(configuration),
            budget=budget or 0.0,
            plan=billing_plan or "",
            processing_units_per_month=_monthly_limit(request, billing_plan),
            log_level=log_level or "",
        )
    )
    return web.Response(
        status=201, headers={"Location": public_url(request, f"/services/{svc.id}"), "OpenEO-Identifier": svc.id}
    )


def _monthly_limit(request: web.Request, plan_name: str | None) -> float:
    """The plan's monthly processing-unit limit, stored with the service: the tiles service
    enforces it on the owner's spending (it does not read the plans file)."""
    return float(billing.plans_of(request).get(plan_name).limits.processing_units_per_month or 0.0)


async def list_services(request: web.Request) -> web.Response:
    user = await require_user(request)
    limit = parse_limit(request)
    reply = await request.app[CLIENTS].store.ListServices(
        store_pb2.ListRequest(user=user, page=common_pb2.Page(limit=limit, next_token=request.query.get("next", "")))
    )
    return json_response(
        {
            "services": [service_json(request, s, full=False) for s in reply.services],
            "links": next_links(request, "/services", reply.next_token, limit),
        }
    )


async def get_service(request: web.Request) -> web.Response:
    user = await require_user(request)
    svc = await request.app[CLIENTS].store.GetService(
        store_pb2.ServiceRef(user=user, service_id=request.match_info["service_id"])
    )
    return json_response(service_json(request, svc, full=True))


async def update_service(request: web.Request) -> web.Response:
    user = await require_user(request)
    body = await read_json_object(request)
    for key in body:
        if key in READ_ONLY or key not in EDITABLE:
            raise api_error("PropertyNotEditable", f"The property '{key}' is not editable.")
    if not body:
        raise api_error("NoDataForUpdate")
    update = store_pb2.UpdateServiceRequest(user=user, service_id=request.match_info["service_id"])
    if "title" in body:
        update.title = optional_string(body, "title") or ""
    if "description" in body:
        update.description = optional_string(body, "description") or ""
    if "enabled" in body:
        update.enabled = _enabled(body)
    if "configuration" in body:
        update.configuration_json = json.dumps(check_configuration(body["configuration"]))
    if "plan" in body:
        update.plan = billing.normalize_billing_plan(request, body["plan"]) or ""
        update.processing_units_per_month = _monthly_limit(request, update.plan or None)
    if "budget" in body:
        update.budget = billing.budget_of(body) or 0.0
    if "log_level" in body:
        update.log_level = optional_log_level(body) or ""
    if "process" in body:
        process = process_of(body)
        await validate_or_raise(request, user, process, compiler_pb2.PURPOSE_TILE)
        update.process_json = json.dumps(process)
    update.update_mask.extend(sorted(body))
    await request.app[CLIENTS].store.UpdateService(update)
    return web.Response(status=204)


async def delete_service(request: web.Request) -> web.Response:
    user = await require_user(request)
    await request.app[CLIENTS].store.DeleteService(
        store_pb2.ServiceRef(user=user, service_id=request.match_info["service_id"])
    )
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/services", list_services)
    routing.add(app, "POST", "/services", create_service)
    routing.add(app, "GET", "/services/{service_id}", get_service)
    routing.add(app, "PATCH", "/services/{service_id}", update_service)
    routing.add(app, "DELETE", "/services/{service_id}", delete_service)
