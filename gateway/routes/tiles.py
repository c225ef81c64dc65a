"""Public XYZ tile route: GET /services/xyz/{service_id}/tiles/{z}/{x}/{y} (no auth; the service
id is the capability). Relays TilesService.RenderTile with ETag / If-None-Match / Cache-Control."""

from __future__ import annotations

import re

from aiohttp import web

from backend_proto.v1 import tiles_pb2
from gateway import routing, streaming
from gateway.errors import api_error
from gateway.keys import CLIENTS

_INT = re.compile(r"^\d{1,10}$")
_SUFFIX = re.compile(r"\.(png|jpe?g)$", re.IGNORECASE)
MAX_ZOOM = 30


def _coordinates(request: web.Request) -> tuple[int, int, int]:
    z_text, x_text = request.match_info["z"], request.match_info["x"]
    y_text = _SUFFIX.sub("", request.match_info["y"])
    if not all(_INT.match(t) for t in (z_text, x_text, y_text)):
        raise api_error("ParameterInvalid", "Tile coordinates z, x and y must be non-negative integers.")
    z, x, y = int(z_text), int(x_text), int(y_text)
    if z > MAX_ZOOM:
        raise api_error("ParameterInvalid", f"Zoom level z must be between 0 and {MAX_ZOOM}.")
    if x >= 2**z or y >= 2**z:
        raise api_error("ParameterInvalid", f"Tile x and y must be between 0 and {2**z - 1} at zoom level {z}.")
    return z, x, y


async def get_tile(request: web.Request) -> web.StreamResponse:
    z, x, y = _coordinates(request)
    call = request.app[CLIENTS].tiles.RenderTile(
        tiles_pb2.RenderTileRequest(
            service_id=request.match_info["service_id"],
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
    return web.Response(status=200, body=parts[0] if len(parts) == 1 else b"".join(parts), headers=headers)


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/services/xyz/{service_id}/tiles/{z}/{x}/{y}", get_tile, hidden=True)
