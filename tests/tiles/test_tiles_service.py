"""tiles_svc against in-process fake store/compiler/executor: cache, 304, coalescing, bad tiles,
extent and zoom limits, disabled services."""

from __future__ import annotations

import asyncio
import io
import json

import grpc
import mercantile
import pytest
from PIL import Image

from backend_common.errors import OpenEOError, from_rpc_error
from backend_common.grpc_client import open_channel
from backend_common.grpc_server import serve
from backend_proto.v1 import (
    common_pb2,
    compiler_pb2,
    compiler_pb2_grpc,
    executor_pb2_grpc,
    store_pb2,
    store_pb2_grpc,
    tiles_pb2,
    tiles_pb2_grpc,
)
from devstack.processes import free_port
from tiles_svc.cache import TileCache
from tiles_svc.servicer import TilesServicer

GRAPH = {
    "process_graph": {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": "SENTINEL2_L2A",
                "spatial_extent": {"west": 10.0, "south": 45.0, "east": 12.0, "north": 47.0},
                "temporal_extent": ["2024-06-01", "2024-06-10"],
            },
        },
        "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "load"}, "format": "PNG"}, "result": True},
    }
}


class FakeStore(store_pb2_grpc.StoreServiceServicer):
    def __init__(self):
        self.services = {
            "s-1": store_pb2.Service(
                id="s-1", user_id="u1", type="XYZ", enabled=True, version=1,
                process_json=json.dumps(GRAPH), configuration_json=json.dumps({"tile_size": 256, "max_zoom": 16}),
            ),
            "s-off": store_pb2.Service(id="s-off", user_id="u1", enabled=False, version=1, process_json=json.dumps(GRAPH)),
        }
        self.spending_batches: list[store_pb2.ServiceSpendingBatch] = []
        self.spending_down = False
        #: each owner's spending this month apart from the services' tiles
        self.month_spent: dict[str, float] = {}

    async def AddServiceSpending(self, request, context):
        if self.spending_down:
            raise OpenEOError("ServiceUnavailable", "the database is down", 503)
        self.spending_batches.append(request)
        totals = store_pb2.ServiceSpendingTotals()
        for entry in request.entries:
            service = self.services[entry.service_id]
            service.costs += entry.processing_units
            service.tiles_rendered += entry.tiles
            totals.costs[entry.service_id] = service.costs
        return totals

    async def GetUserSpending(self, request, context):
        tiles = sum(s.costs for s in self.services.values() if s.user_id == request.user_id)
        return store_pb2.UserSpending(month="2026-12", processing_units=self.month_spent.get(request.user_id, 0.0) + tiles,
                                      seconds_to_next_month=20 * 86400)

    async def GetServiceForTiles(self, request, context):
        if request.service_id not in self.services:
            raise OpenEOError("ServiceNotFound", "no such service", 404)
        return self.services[request.service_id]


class FakeCompiler(compiler_pb2_grpc.CompilerServiceServicer):
    """A plan with one load on the tile's bounds; with `bounds_in_graph` the graph uses the bounds
    too (as a graph with `filter_bbox` on the tile parameters would)."""

    def __init__(self):
        self.requests = []
        self.bounds_in_graph = False

    async def Compile(self, request, context):
        self.requests.append(request)
        t = request.tile
        bbox = compiler_pb2.BoundingBox(west=t.west, south=t.south, east=t.east, north=t.north, epsg=t.epsg)
        graph = {"load": {"process_id": "load_collection", "arguments": {}}}
        if self.bounds_in_graph:
            graph["bbox"] = {"process_id": "filter_bbox", "arguments": {"extent": [t.west, t.south, t.east, t.north]}}
        return compiler_pb2.ExecutionPlan(
            loads=[compiler_pb2.SentinelHubLoad(node_id="load", bbox=bbox, width=t.size, height=t.size)],
            graph_json=json.dumps(graph), output=compiler_pb2.OutputFormat(format=request.output_format or "GTiff"),
        )


class FakeExecutor(executor_pb2_grpc.ExecutorServiceServicer):
    """Renders a PNG whose red value encodes the plan's bounds, slowly, counting renders."""

    def __init__(self):
        self.calls = 0
        self.formats = []
        self.plans = []
        self.processing_units = 0.25

    async def Execute(self, request, context):
        self.calls += 1
        self.formats.append(request.plan.output.format)
        self.plans.append(request.plan)
        await asyncio.sleep(0.2)
        buffer = io.BytesIO()
        if request.plan.output.format == "JPEG":  # as the executor: the plan's format
            Image.new("RGB", (256, 256), (self.calls % 256, 0, 0)).save(buffer, format="JPEG")
            yield common_pb2.DataChunk(data=buffer.getvalue(), content_type="image/jpeg")
            return
        Image.new("RGBA", (256, 256), (self.calls % 256, 0, 0, 255)).save(buffer, format="PNG")
        yield common_pb2.DataChunk(data=buffer.getvalue(), content_type="image/png",
                                   processing_units=self.processing_units)


@pytest.fixture
async def tiles():
    store, compiler, executor = FakeStore(), FakeCompiler(), FakeExecutor()
    backend_port, tiles_port = free_port(), free_port()
    stop_backend, stop_tiles = asyncio.Event(), asyncio.Event()

    def register_backend(server):
        store_pb2_grpc.add_StoreServiceServicer_to_server(store, server)
        compiler_pb2_grpc.add_CompilerServiceServicer_to_server(compiler, server)
        executor_pb2_grpc.add_ExecutorServiceServicer_to_server(executor, server)
        return []

    backend_channel = open_channel(f"127.0.0.1:{backend_port}")
    servicer = TilesServicer(
        {"store": backend_channel, "compiler": backend_channel, "executor": backend_channel},
        TileCache(100), max_age=60, service_ttl=0.0, spending_interval=0.2,
    )

    def register_tiles(server):
        tiles_pb2_grpc.add_TilesServiceServicer_to_server(servicer, server)
        return ["openeo.backend.v1.TilesService"]

    tasks = [
        asyncio.create_task(serve("backend", f"127.0.0.1:{backend_port}", register_backend, grace_seconds=0.5, stop_event=stop_backend)),
        asyncio.create_task(serve("tiles", f"127.0.0.1:{tiles_port}", register_tiles, grace_seconds=0.5, stop_event=stop_tiles)),
    ]
    channel = open_channel(f"127.0.0.1:{tiles_port}")
    await asyncio.sleep(0.3)
    yield tiles_pb2_grpc.TilesServiceStub(channel), store, compiler, executor
    await channel.close()
    await backend_channel.close()
    stop_backend.set(), stop_tiles.set()
    await asyncio.gather(*tasks)


async def fetch(stub, service_id, z, x, y, if_none_match=""):
    chunks = [c async for c in stub.RenderTile(tiles_pb2.RenderTileRequest(service_id=service_id, z=z, x=x, y=y, if_none_match=if_none_match))]
    return chunks[0], b"".join(c.data for c in chunks)


def inside_tile(z: int) -> mercantile.Tile:
    return mercantile.tile(11.0, 46.0, z)


async def test_render_then_cache_hit_then_304(tiles):
    stub, _, compiler, executor = tiles
    t = inside_tile(8)
    first, data = await fetch(stub, "s-1", t.z, t.x, t.y)
    assert first.content_type == "image/png" and not first.cache_hit and data.startswith(b"\x89PNG")
    again, data2 = await fetch(stub, "s-1", t.z, t.x, t.y)
    assert again.cache_hit and data2 == data and again.etag == first.etag
    not_modified, body = await fetch(stub, "s-1", t.z, t.x, t.y, if_none_match=first.etag)
    assert not_modified.not_modified and body == b""
    assert executor.calls == 1
    # the compiler saw the tile's Web Mercator bounds and was asked for PNG, which the plan carries
    bounds = mercantile.xy_bounds(t)
    tile_req = compiler.requests[0].tile
    assert (tile_req.epsg, tile_req.size) == (3857, 256)
    assert tile_req.west == pytest.approx(bounds.left) and tile_req.north == pytest.approx(bounds.top)
    assert compiler.requests[0].output_format == "PNG" and executor.formats == ["PNG"]


async def test_twenty_concurrent_requests_render_once(tiles):
    stub, _, _, executor = tiles
    t = inside_tile(9)
    results = await asyncio.gather(*(fetch(stub, "s-1", t.z, t.x, t.y) for _ in range(20)))
    assert executor.calls == 1
    assert len({data for _, data in results}) == 1


async def test_new_version_invalidates(tiles):
    stub, store, _, executor = tiles
    t = inside_tile(7)
    first, _ = await fetch(stub, "s-1", t.z, t.x, t.y)
    store.services["s-1"].version = 2
    second, _ = await fetch(stub, "s-1", t.z, t.x, t.y)
    assert executor.calls == 2 and second.etag != first.etag and not second.cache_hit


@pytest.mark.parametrize("z,x,y", [(-1, 0, 0), (25, 0, 0), (3, 8, 0), (3, 0, -1), (0, 1, 0)])
async def test_bad_tiles_are_400(tiles, z, x, y):
    stub = tiles[0]
    with pytest.raises(grpc.RpcError) as info:
        await fetch(stub, "s-1", z, x, y)
    err = from_rpc_error(info.value)
    assert (err.status, err.code) == (400, "TileInvalid")


async def test_outside_extent_and_zoom_give_empty_transparent_tiles(tiles):
    stub, _, _, executor = tiles
    far = mercantile.tile(-100.0, 40.0, 8)
    for z, x, y in [(far.z, far.x, far.y), (17, *inside_tile(17)[:2])]:
        _, data = await fetch(stub, "s-1", z, x, y)
        image = Image.open(io.BytesIO(data))
        assert image.mode == "RGBA" and image.getextrema()[3] == (0, 0)
    assert executor.calls == 0


async def test_zoom_zero_covers_the_world(tiles):
    stub, _, compiler, executor = tiles
    first, data = await fetch(stub, "s-1", 0, 0, 0)
    assert data.startswith(b"\x89PNG") and executor.calls == 1
    tile = compiler.requests[0].tile
    assert tile.west == pytest.approx(-20037508.34, abs=1) and tile.east == pytest.approx(20037508.34, abs=1)


async def test_disabled_and_unknown_services_are_404(tiles):
    stub = tiles[0]
    for service_id in ("s-off", "s-unknown"):
        with pytest.raises(grpc.RpcError) as info:
            await fetch(stub, service_id, 0, 0, 0)
        err = from_rpc_error(info.value)
        assert (err.status, err.code) == (404, "ServiceNotFound")


def row_of_tiles(z: int, n: int) -> list[mercantile.Tile]:
    t = inside_tile(z)
    return [mercantile.Tile(t.x + i, t.y, z) for i in range(n)]


def bounds_of_plan(plan) -> tuple:
    b = plan.loads[0].bbox
    return b.west, b.south, b.east, b.north


async def test_a_verified_plan_is_reused_for_further_tiles_of_the_zoom(tiles):
    stub, store, compiler, executor = tiles
    row = row_of_tiles(12, 5)
    for t in row:
        await fetch(stub, "s-1", t.z, t.x, t.y)
    # the first two tiles were compiled (template, then its check); the next three reuse it
    assert len(compiler.requests) == 2 and executor.calls == 5
    for t, plan in zip(row, executor.plans):
        b = mercantile.xy_bounds(t)
        assert bounds_of_plan(plan) == (b.left, b.bottom, b.right, b.top)
        assert plan.output.format == "PNG"
    # another zoom level and a new version of the service compile again
    other = inside_tile(13)
    await fetch(stub, "s-1", other.z, other.x, other.y)
    assert len(compiler.requests) == 3
    store.services["s-1"].version = 2
    await fetch(stub, "s-1", row[0].z, row[0].x, row[0].y)
    assert len(compiler.requests) == 4


async def test_plans_that_depend_on_the_tile_elsewhere_are_always_compiled(tiles):
    stub, _, compiler, executor = tiles
    compiler.bounds_in_graph = True
    row = row_of_tiles(12, 4)
    for t in row:
        await fetch(stub, "s-1", t.z, t.x, t.y)
    assert len(compiler.requests) == 4
    for t, plan in zip(row, executor.plans):
        b = mercantile.xy_bounds(t)
        assert json.loads(plan.graph_json)["bbox"]["arguments"]["extent"] == [b.left, b.bottom, b.right, b.top]


def graph_saving(fmt: str) -> dict:
    return {"process_graph": {**GRAPH["process_graph"], "save": {
        "process_id": "save_result", "arguments": {"data": {"from_node": "load"}, "format": fmt}, "result": True}}}


@pytest.mark.parametrize("fmt, configured, wanted, content_type", [
    ("JPEG", None, "JPEG", "image/jpeg"),   # the graph's save_result format
    ("jpg", None, "JPEG", "image/jpeg"),
    ("png", None, "PNG", "image/png"),
    ("GTiff", None, "PNG", "image/png"),    # not an image format for tiles: the default
    ("JPEG", "png", "PNG", "image/png"),    # the service configuration wins
    ("PNG", "jpeg", "JPEG", "image/jpeg"),
])
async def test_the_tile_format_follows_the_configuration_else_the_graph(tiles, fmt, configured, wanted, content_type):
    """Issue 20: a graph saving JPEG gave PNG tiles."""
    stub, store, compiler, _ = tiles
    config = {"tile_size": 256} | ({"format": configured} if configured else {})
    store.services["s-fmt"] = store_pb2.Service(id="s-fmt", user_id="u1", type="XYZ", enabled=True, version=1,
                                                process_json=json.dumps(graph_saving(fmt)),
                                                configuration_json=json.dumps(config))
    t = inside_tile(8)
    first, data = await fetch(stub, "s-fmt", t.z, t.x, t.y)
    assert compiler.requests[-1].output_format == wanted
    assert first.content_type == content_type
    assert data.startswith(b"\xff\xd8" if wanted == "JPEG" else b"\x89PNG")
