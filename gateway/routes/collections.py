"""EO data discovery: GET /collections, GET /collections/{collection_id} and its queryables (from
the compiler). The compiler's links to this backend are paths; they are made absolute here."""

from __future__ import annotations

import json

from aiohttp import web

from backend_proto.v1 import common_pb2, compiler_pb2
from gateway import routing
from gateway.auth.bearer import optional_user
from gateway.http import json_response, parse_limit, public_url
from gateway.keys import CLIENTS


def _absolute_links(request: web.Request, doc: dict) -> dict:
    for link in doc.get("links") or []:
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(href, str) and href.startswith("/"):
            link["href"] = public_url(request, href)
    return doc


async def list_collections(request: web.Request) -> web.Response:
    parse_limit(request)  # checked (400 unless a positive integer); all collections fit one page
    doc = json.loads((await request.app[CLIENTS].compiler.ListCollections(common_pb2.Empty())).json)
    for collection in doc.get("collections") or []:
        _absolute_links(request, collection)
    return json_response(_absolute_links(request, doc))


def _ref(request: web.Request, user: common_pb2.User | None = None) -> compiler_pb2.GetCollectionRequest:
    return compiler_pb2.GetCollectionRequest(collection_id=request.match_info["collection_id"], user=user)


async def get_collection(request: web.Request) -> web.Response:
    cid = request.match_info["collection_id"]
    user = await optional_user(request) if cid.startswith("byoc-") else None  # a user's own BYOC collection
    doc = await request.app[CLIENTS].compiler.GetCollection(_ref(request, user))
    return json_response(_absolute_links(request, json.loads(doc.json)))


async def get_queryables(request: web.Request) -> web.Response:
    doc = json.loads((await request.app[CLIENTS].compiler.GetQueryables(_ref(request))).json)
    if isinstance(doc.get("$id"), str) and doc["$id"].startswith("/"):
        doc["$id"] = public_url(request, doc["$id"])
    return json_response(doc, content_type="application/schema+json")


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/collections", list_collections)
    routing.add(app, "GET", "/collections/{collection_id}", get_collection)
    routing.add(app, "GET", "/collections/{collection_id}/queryables", get_queryables)
