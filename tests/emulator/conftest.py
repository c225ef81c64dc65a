"""Fixtures: the emulator app in-process (aiohttp test server) with a configurable EmulatorConfig."""
from __future__ import annotations

import io
import tarfile

import pytest
import rasterio
from aiohttp.test_utils import TestClient, TestServer

from sentinelhub_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, create_app
from sentinelhub_emulator.config import EmulatorConfig

TOKEN_PATH = "/auth/realms/main/protocol/openid-connect/token"
UTM33 = "http://www.opengis.net/def/crs/EPSG/0/32633"
JUNE = {"from": "2021-06-01T00:00:00Z", "to": "2021-06-30T23:59:59Z"}

NDVI = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "B08", "dataMask"]}], output: {bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) { return [(s.B08 - s.B04) / (s.B08 + s.B04)]; }
"""


class Emu:
    """A running in-process emulator with an authenticated helper."""

    def __init__(self, client: TestClient):
        self.client = client
        self.token: str | None = None

    async def get_token(self, cid=DEMO_CLIENT_ID, secret=DEMO_CLIENT_SECRET) -> str:
        resp = await self.client.post(TOKEN_PATH, data={"grant_type": "client_credentials", "client_id": cid,
                                                        "client_secret": secret})
        assert resp.status == 200, await resp.text()
        return (await resp.json())["access_token"]

    async def auth(self) -> dict:
        if self.token is None:
            self.token = await self.get_token()
        return {"Authorization": f"Bearer {self.token}"}

    async def process(self, body: dict, headers: dict | None = None, deployment: str = ""):
        """POST a Process API request; `deployment`: a base path such as "/uswest2" ("" = SH main)."""
        h = await self.auth()
        h.update(headers or {})
        return await self.client.post(deployment + "/api/v1/process", json=body, headers=h)

    async def search(self, body: dict):
        return await self.client.post("/api/v1/catalog/1.0.0/search", json=body, headers=await self.auth())


@pytest.fixture
async def make_emu():
    clients: list[TestClient] = []

    async def make(**config) -> Emu:
        cfg = EmulatorConfig(**config)
        client = TestClient(TestServer(create_app(cfg)))
        await client.start_server()
        clients.append(client)
        return Emu(client)

    yield make
    for c in clients:
        await c.close()


@pytest.fixture
async def emu(make_emu) -> Emu:
    return await make_emu()


def process_body(evalscript=NDVI, bbox=(13.0, 45.0, 13.02, 45.01), crs=None, width=40, height=20,
                 collection="sentinel-2-l2a", time_range=JUNE, responses=None, geometry=None, **data_extra) -> dict:
    bounds = {"bbox": list(bbox)} if bbox is not None else {}
    if geometry is not None:
        bounds["geometry"] = geometry
    if crs:
        bounds["properties"] = {"crs": crs}
    data = {"type": collection, "dataFilter": {"timeRange": time_range}}
    data.update(data_extra)
    return {"input": {"bounds": bounds, "data": [data]},
            "output": {"width": width, "height": height,
                       "responses": responses or [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": evalscript}


def read_raster(payload: bytes):
    with rasterio.MemoryFile(payload) as mem, mem.open() as ds:
        return ds.read(), ds.profile, ds.transform, ds.crs


def read_tar(payload: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(payload)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


async def sh_error(resp, status: int, code: str | None = None) -> dict:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    err = body["error"]
    assert err["status"] == status
    assert set(err) >= {"status", "reason", "message", "code"}
    if code:
        assert err["code"] == code, err
    return err
