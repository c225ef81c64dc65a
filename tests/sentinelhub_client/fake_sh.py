"""A small scriptable Sentinel Hub fake (aiohttp) for the client's unit tests.

Rasters are a pure function of pixel-centre coordinates, so a split request can be compared
with a single render. Faults are a queue of scripted answers consumed by API calls.
"""

from __future__ import annotations

import asyncio
import io
import json
import tarfile

import numpy as np
import rasterio
from aiohttp import web
from affine import Affine

TOKEN_PATH = "/auth/realms/main/protocol/openid-connect/token"


def field(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Band values at pixel centres (smooth but non-trivial)."""
    return np.stack([x * 1000.0 + y, np.sin(x * 3.0) * np.cos(y * 2.0)]).astype(np.float32)


def render(bbox, width, height, dates=None) -> bytes:
    """GeoTIFF of `field`; with `dates`, packed time-major (+ day-of-month·100 per date)."""
    minx, miny, maxx, maxy = bbox
    dx, dy = (maxx - minx) / width, (maxy - miny) / height
    xs = minx + (np.arange(width) + 0.5) * dx
    ys = maxy - (np.arange(height) + 0.5) * dy
    x, y = np.meshgrid(xs, ys)
    data = field(x, y)
    if dates is not None:
        data = np.concatenate([data + int(d[8:10]) * 100 for d in dates]).astype(np.float32)
    buf = io.BytesIO()
    with rasterio.MemoryFile() as mem:
        with mem.open(
            driver="GTiff", width=width, height=height, count=data.shape[0], dtype="float32",
            crs="EPSG:4326", transform=Affine(dx, 0.0, minx, 0.0, -dy, maxy),
        ) as ds:
            ds.write(data)
        buf.write(mem.read())
    return buf.getvalue()


def tar_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buf.getvalue()


class FakeSentinelHub:
    def __init__(self, *, expires_in: int = 3600, catalog_items: int = 0, distinct: bool = True):
        self.expires_in = expires_in
        self.valid_tokens: set[str] = set()
        self.token_requests = 0
        self.token_faults: list[dict] = []
        self.faults: list[dict] = []  # each: {"status", "headers"?, "body"?, "delay"?}
        self.calls: list[tuple[float, str, dict]] = []  # (loop time, path, body)
        self.in_flight = 0
        self.max_in_flight = 0
        self.process_delay = 0.0
        self.tile_dates = None  # optional: bbox -> list of dates (temporal userdata per area)
        self.pu = 1.5
        self.distinct = distinct
        self.catalog = [
            {"type": "Feature", "id": f"item-{i}",
             "properties": {"datetime": f"2023-01-{1 + i // 3:02d}T10:{i % 3:02d}:00Z"}}
            for i in range(catalog_items)
        ]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(TOKEN_PATH, self.token)
        app.router.add_post("/api/v1/process", self.process)
        app.router.add_post("/api/v1/catalog/1.0.0/search", self.search)
        return app

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.token_requests += 1
        if self.token_faults:
            fault = self.token_faults.pop(0)
            return web.json_response({"error": "x"}, status=fault["status"], headers=fault.get("headers"))
        if form.get("client_id") != "demo-client" or form.get("client_secret") != "demo-secret":
            return web.json_response({"error": "invalid_client", "error_description": "bad secret"}, status=401)
        await asyncio.sleep(0.01)  # give concurrent waiters a chance to pile up
        value = f"tok-{self.token_requests}"
        self.valid_tokens.add(value)
        return web.json_response({"access_token": value, "expires_in": self.expires_in, "token_type": "Bearer"})

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.valid_tokens

    async def _fault(self) -> web.Response | None:
        if not self.faults:
            return None
        fault = self.faults.pop(0)
        if fault.get("delay"):
            await asyncio.sleep(fault["delay"])
            if "status" not in fault:
                return None
        return web.Response(
            status=fault["status"], body=json.dumps(fault.get("body", {})).encode(),
            headers=fault.get("headers"), content_type="application/json",
        )

    async def process(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append((asyncio.get_running_loop().time(), "process", body))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if not self._authorized(request):
                return web.Response(status=401)
            fault = await self._fault()
            if fault is not None:
                return fault
            if self.process_delay:
                await asyncio.sleep(self.process_delay)
            if "VERSION=3" not in body.get("evalscript", ""):
                return web.json_response(
                    {"error": {"status": 400, "reason": "Bad Request", "message": "Invalid evalscript",
                               "code": "RENDERER_EXCEPTION"}}, status=400)
            out = body["output"]
            width, height = out["width"], out["height"]
            if width > 2500 or height > 2500:
                return web.json_response({"error": {"status": 400, "message": "too large"}}, status=400)
            bbox = body["input"]["bounds"]["bbox"]
            dates = self.tile_dates(bbox) if self.tile_dates else None
            image = render(bbox, width, height, dates)
            headers = {"x-processingunits-spent": str(self.pu)}
            if len(out.get("responses", [])) > 1:
                userdata = json.dumps({"dates": dates or ["2023-01-01T00:00:00Z"], "bands": ["A", "B"]}).encode()
                payload = tar_of({"default.tif": image, "userdata.json": userdata})
                return web.Response(body=payload, content_type="application/x-tar", headers=headers)
            return web.Response(body=image, content_type="image/tiff", headers=headers)
        finally:
            self.in_flight -= 1

    async def search(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append((asyncio.get_running_loop().time(), "search", body))
        if not self._authorized(request):
            return web.Response(status=401)
        fault = await self._fault()
        if fault is not None:
            return fault
        if body.get("distinct") and not self.distinct:
            return web.json_response({"code": "COMMON_BAD_PAYLOAD", "description": "distinct unsupported"}, status=400)
        limit = min(int(body.get("limit", 10)), 100)
        start = int(body.get("next", 0))
        items = self.catalog
        if body.get("distinct") == "date":
            items = sorted({f["properties"]["datetime"][:10] for f in items})
        page = items[start : start + limit]
        context = {"limit": limit, "returned": len(page)}
        if start + limit < len(items):
            context["next"] = start + limit
        return web.json_response({"type": "FeatureCollection", "features": page, "context": context})
