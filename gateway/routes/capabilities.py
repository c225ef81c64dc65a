"""Discovery: GET /, /.well-known/openeo, /conformance, /file_formats, /service_types, /udf_runtimes."""

from __future__ import annotations

from aiohttp import web

from backend_common.stac import STAC_VERSION
from backend_proto.v1 import common_pb2
from gateway import billing, routing
from gateway.http import json_response, public_url, raw_json_response
from gateway.keys import CLIENTS, SETTINGS

API_VERSION = "1.2.0"
CONFORMANCE = [
    "https://api.openeo.org/1.2.0",
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
]

XYZ_SERVICE_TYPE = {
    "title": "XYZ tiles",
    "description": (
        "Web Mercator (EPSG:3857) XYZ tiles. The service `url` contains `{z}/{x}/{y}` placeholders "
        "and needs no authentication."
    ),
    "configuration": {
        "tile_size": {
            "description": "Width and height of a tile in pixels.",
            "type": "integer",
            "enum": [256, 512],
            "default": 256,
            "required": False,
        },
        "format": {
            "description": (
                "Image format of the tiles. When not given: the format of the process's `save_result` "
                "when it is PNG or JPEG, else png."
            ),
            "type": "string",
            "enum": ["png", "jpeg"],
            "required": False,
        },
    },
    "process_parameters": [
        *(
            {
                "name": f"spatial_extent_{side}",
                "description": f"{side.capitalize()} edge of the requested tile in EPSG:3857 (meters).",
                "schema": {"type": "number"},
            }
            for side in ("west", "south", "east", "north")
        ),
        {
            "name": "tile_size",
            "description": "Width and height of the requested tile in pixels.",
            "schema": {"type": "integer", "enum": [256, 512]},
        },
    ],
    "links": [
        {"rel": "about", "href": "https://wiki.openstreetmap.org/wiki/Slippy_map_tilenames", "title": "XYZ tiles"}
    ],
}


async def capabilities(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    body = {
        "api_version": API_VERSION,
        "backend_version": settings.backend_version,
        "stac_version": STAC_VERSION,
        "type": "Catalog",
        "id": settings.backend_id,
        "title": settings.title,
        "description": settings.description,
        "conformsTo": CONFORMANCE,
        "production": settings.production,
        "endpoints": routing.endpoints(request.app),
        "billing": billing.plans_of(request).capabilities(),
        "links": [
            {"rel": "self", "href": public_url(request, "/"), "type": "application/json"},
            {"rel": "version-history", "href": public_url(request, "/.well-known/openeo"), "type": "application/json",
             "title": "Supported openEO versions"},
            {"rel": "conformance", "href": public_url(request, "/conformance"), "type": "application/json",
             "title": "Conformance classes"},
            {"rel": "data", "href": public_url(request, "/collections"), "type": "application/json",
             "title": "Collections"},
        ],
    }
    return json_response(body)


async def well_known(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return json_response(
        {"versions": [{"url": settings.public_url + "/", "api_version": API_VERSION, "production": settings.production}]}
    )


async def conformance(request: web.Request) -> web.Response:
    return json_response({"conformsTo": CONFORMANCE})


async def file_formats(request: web.Request) -> web.Response:
    doc = await request.app[CLIENTS].compiler.ListFileFormats(common_pb2.Empty())
    return raw_json_response(doc.json)


async def service_types(request: web.Request) -> web.Response:
    return json_response({"XYZ": XYZ_SERVICE_TYPE})


async def udf_runtimes(request: web.Request) -> web.Response:
    return json_response({})


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/", capabilities)
    routing.add(app, "GET", "/.well-known/openeo", well_known, hidden=True)
    routing.add(app, "GET", "/conformance", conformance)
    routing.add(app, "GET", "/file_formats", file_formats)
    routing.add(app, "GET", "/service_types", service_types)
    routing.add(app, "GET", "/udf_runtimes", udf_runtimes)
