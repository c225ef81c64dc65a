"""Public XYZ tile route: GET /services/xyz/{service_id}/tiles/{z}/{x}/{y} (no auth; the service
id is the capability). Relays TilesService.RenderTile with ETag / If-None-Match / Cache-Control.

Hot tiles: a tile the tiles service returned is kept here for `GATEWAY_TILE_CACHE_SECONDS`
(default 1 s; 0 turns it off), bounded by `GATEWAY_TILE_CACHE_MB` (default 64), and plain GETs of
it within that time are answered without a RenderTile call. So an edited, disabled or deleted
service is seen at most that long after the tiles service sees it (which itself caches service
documents for TILES_SERVICE_TTL_SECONDS). Conditional requests (If-None-Match) always ask the
tiles service.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from backend_common.errors import OpenEOError
from backend_common.tile_coordinates import check_tile
from backend_proto.v1 import tiles_pb2
from gateway import routing, streaming
from gateway.keys import CLIENTS, SETTINGS

_INT = re.compile(r"^\d{1,10}$")
_SUFFIX = re.compile(r"\.(png|jpe?g)$", re.IGNORECASE)
#: Tiles larger than this are never kept by the gateway.
MAX_CACHED_TILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class _CachedTile:
    expires: float
    body: bytes
    headers: dict


class HotTiles:
    """A short-lived LRU of tile responses keyed by (service id, z, x, y), bounded in bytes."""

    def __init__(self, ttl: float, max_bytes: int):
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, _CachedTile] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple) -> _CachedTile | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= time.monotonic():
            self._drop(key)
            return None
        return entry

    def put(self, key: tuple, body: bytes, headers: dict) -> None:
        if self.ttl <= 0 or len(body) > min(self.max_bytes, MAX_CACHED_TILE_BYTES):
            return
        self._drop(key)
        self._entries[key] = _CachedTile(time.monotonic() + self.ttl, body, headers)
        self._bytes += len(body)
        while self._bytes > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body)

    def __len__(self) -> int:
        return len(self._entries)


HOT_TILES = web.AppKey("hot_tiles", HotTiles)


def _coordinates(request: web.Request) -> tuple[int, int, int]:
    z_text, x_text = request.match_info["z"], request.match_info["x"]
    y_text = _SUFFIX.sub("", request.match_info["y"])
    if not all(_INT.match(t) for t in (z_text, x_text, y_text)):
        raise OpenEOError("TileInvalid", "Tile coordinates z, x and y must be non-negative integers.", 400)
    return check_tile(int(z_text), int(x_text), int(y_text))


async def get_tile(request: web.Request) -> web.StreamResponse:
    z, x, y = _coordinates(request)
    service_id = request.match_info["service_id"]
    hot = request.app.get(HOT_TILES)
    key = (service_id, z, x, y)
    conditional = "If-None-Match" in request.headers
    if hot is not None and not conditional:
        entry = hot.get(key)
        if entry is not None:
            return web.Response(status=200, body=entry.body, headers=entry.headers)
    call = request.app[CLIENTS].tiles.RenderTile(
        tiles_pb2.RenderTileRequest(
            service_id=service_id,
            z=z,
            x=x,
            y=y,
            if_none_match=request.headers.get("If-None-Match", ""),
        )
    )
    first, rest = await streaming.first_chunk(call)
    headers = {}
    if first is not None and first.etag:
        headers["ETag"] = first.etag
    if first is not None and first.max_age > 0:
        headers["Cache-Control"] = f"public, max-age={first.max_age}"
    if first is not None and first.not_modified:
        call.cancel()
        return web.Response(status=304, headers=headers)
    # A tile is small (one or a few chunks): it is collected and sent as one response with a
    # Content-Length, in one write, instead of a chunked stream (about three socket writes and
    # the chunked framing per tile); a failure mid-stream then still becomes an error response.
    parts = [first.data] if first is not None and first.data else []
    async for chunk in rest:
        if chunk.data:
            parts.append(chunk.data)
    headers["Content-Type"] = (first.content_type if first is not None else "") or "image/png"
    if first is not None:
        headers["X-Cache"] = "HIT" if first.cache_hit else "MISS"
    body = parts[0] if len(parts) == 1 else b"".join(parts)
    if hot is not None and headers.get("ETag"):
        hot.put(key, body, {**headers, "X-Cache": "HIT"})
    return web.Response(status=200, body=body, headers=headers)


async def old_tile_url(request: web.Request) -> web.StreamResponse:
    """The old Sentinel Hub backend's tile URL `/service/xyz/{id}/{z}/{x}/{y}`: a permanent,
    method-preserving redirect (308) to this backend's `/services/xyz/{id}/tiles/{z}/{x}/{y}`,
    so map clients configured with the old template keep working."""
    parts = [quote(request.match_info[name], safe="") for name in ("service_id", "z", "x", "y")]
    location = "{}/services/xyz/{}/tiles/{}/{}/{}".format(request.app[SETTINGS].public_url, *parts)
    if request.rel_url.raw_query_string:
        location += "?" + request.rel_url.raw_query_string
    raise web.HTTPPermanentRedirect(location)


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    if settings.tile_cache_seconds > 0:
        app[HOT_TILES] = HotTiles(settings.tile_cache_seconds, settings.tile_cache_bytes)
    routing.add(app, "GET", "/services/xyz/{service_id}/tiles/{z}/{x}/{y}", get_tile, hidden=True)
    routing.add(app, "GET", "/service/xyz/{service_id}/{z}/{x}/{y}", old_tile_url, hidden=True)
