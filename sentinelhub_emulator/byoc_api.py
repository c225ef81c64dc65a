"""The read side of the BYOC API (§5.6): collections, tiles and `global` locations of the caller's
account, served by the deployment the demo collections live on (`byoc.LOCATION_DEPLOYMENT`)."""
from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from . import byoc, deployments
from .errors import SHError


def owns(account_of: Callable[[str], str], account: str, collection: str) -> bool:
    """Whether `account` owns `collection` (`byoc-<id>` or `<id>`); `account_of(client_id)`."""
    owner = byoc.owner_of(collection)
    return owner is not None and account_of(owner) == account


def add_routes(r: web.UrlDispatcher, prefix: str, name_prefix: str, principal_of, account_of) -> None:
    """`principal_of(request)`: the verified caller; `account_of(app, client_id)`: a client's account."""

    def visible(request: web.Request) -> list[str]:
        if deployments.split(request.path)[0] != byoc.LOCATION_DEPLOYMENT:
            return []
        account = principal_of(request).account
        return [cid for cid in byoc.DEMO if owns(lambda c: account_of(request.app, c), account, cid)]

    def own_collection(request: web.Request) -> str:
        cid = request.match_info["collection_id"]
        if cid not in visible(request):
            raise SHError(404, f"Collection {cid} not found.", "COMMON_NOT_FOUND")
        return cid

    async def collections(request: web.Request) -> web.Response:
        account = principal_of(request).account
        return web.json_response({"data": [byoc.collection_document(c, account) for c in visible(request)],
                                  "links": {}})

    async def collection(request: web.Request) -> web.Response:
        cid = own_collection(request)
        return web.json_response({"data": byoc.collection_document(cid, principal_of(request).account)})

    async def tiles(request: web.Request) -> web.Response:
        return web.json_response({"data": byoc.tiles(own_collection(request)), "links": {}})

    async def tile(request: web.Request) -> web.Response:
        for t in byoc.tiles(own_collection(request)):
            if t["id"] == request.match_info["tile_id"]:
                return web.json_response({"data": t})
        raise SHError(404, "Tile not found.", "COMMON_NOT_FOUND")

    async def global_locations(request: web.Request) -> web.Response:
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        mine = set(visible(request))
        return web.json_response({"data": [{"id": i, "location": byoc.LOCATION} for i in ids if i in mine]})

    base = prefix + "/api/v1/byoc"
    r.add_get(base + "/collections", collections, name=name_prefix + "byoc_collections")
    r.add_get(base + "/collections/{collection_id}", collection, name=name_prefix + "byoc_collection")
    r.add_get(base + "/collections/{collection_id}/tiles", tiles, name=name_prefix + "byoc_tiles")
    r.add_get(base + "/collections/{collection_id}/tiles/{tile_id}", tile, name=name_prefix + "byoc_tile")
    r.add_get(base + "/global", global_locations, name=name_prefix + "byoc_global")
