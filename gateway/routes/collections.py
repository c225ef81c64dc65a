"""EO data discovery: GET /collections, GET /collections/{collection_id} (from the compiler)."""

from __future__ import annotations

from aiohttp import web

from backend_proto.v1 import common_pb2, compiler_pb2
from gateway import routing
from gateway.http import raw_json_response
from gateway.keys import CLIENTS


async def list_collections(request: web.Request) -> web.Response:
    doc = await request.app[CLIENTS].compiler.ListCollections(common_pb2.Empty())
    return raw_json_response(doc.json)


async def get_collection(request: web.Request) -> web.Response:
    collection_id = request.match_info["collection_id"]
    doc = await request.app[CLIENTS].compiler.GetCollection(
        compiler_pb2.GetCollectionRequest(collection_id=collection_id)
    )
    return raw_json_response(doc.json)


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/collections", list_collections)
    routing.add(app, "GET", "/collections/{collection_id}", get_collection)
