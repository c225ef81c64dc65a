"""The executor's Batch API engine against the emulator (subprocess) and SeaweedFS: tiles rendered
by the emulator's Batch v2, finished per tile by the runner, one COG per tile and date."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import aiohttp
import numpy as np
import pytest
import rasterio

from backend_common.errors import OpenEOError
from backend_proto.v1 import common_pb2, compiler_pb2
from devstack.emulator import running_emulator
from executor_svc.batch_engine.engine import BatchApiRun, estimate
from executor_svc.batch_engine.request import DeliveryTarget, task_body
from executor_svc.runner import PlanRunner

from .fakes import ndvi_plan
from .test_execute_emulator import expected_ndvi

GRID2 = 100080.0
TILES = {"33N_3_49": (3 * GRID2, 49 * GRID2), "33N_4_49": (4 * GRID2, 49 * GRID2)}
TILE_PX = 278


@pytest.fixture(scope="module")
def emulator_url(tmp_path_factory, s3_server):
    env = {"SH_EMULATOR_S3_ENDPOINT": s3_server.endpoint_url, "SH_EMULATOR_BATCH_EXECUTION_DB_INTERVAL_S": "0.2",
           "SH_EMULATOR_BATCH_RESTART_LOCK_S": "0"}
    with running_emulator(tmp_path_factory.mktemp("emulator") / "emulator.log", env=env) as emulator:
        yield emulator.url


@pytest.fixture
async def runner(emulator_url):
    from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient

    pool = ThreadPoolExecutor(2)
    config = ClientConfig(deployment=Deployment.emulator(emulator_url), client_id="demo-client",
                          client_secret="demo-secret")
    async with SentinelHubClient(config, executor=pool) as sh:
        yield PlanRunner(sh, pool)
    pool.shutdown()


@pytest.fixture
async def emulator(emulator_url):
    async with aiohttp.ClientSession(emulator_url) as session:
        await session.delete("/_emulator/faults")
        await session.delete("/_emulator/stats")
        yield session


def batch_plan():
    bbox = compiler_pb2.BoundingBox(west=390000, south=4950000, east=410000, north=4960000, epsg=32633)
    plan = ndvi_plan(bbox=bbox, width=56, height=28)
    plan.batch_api.CopyFrom(compiler_pb2.BatchApiPlan(grid_id=2, resolution=360.0, estimated_tiles=2,
                                                      estimated_processing_units=100.0))
    return plan


class Recorder:
    def __init__(self):
        self.lines: list[tuple[str, str]] = []
        self.progress: list[float] = []
        self.partial: list[int] = []
        self.uploaded: dict[str, bytes] = {}

    def run(self, runner, storage, s3_config, tmp_path, job_id):
        async def upload(key, path, media_type):
            self.uploaded[key] = path.read_bytes()
            await storage.upload_file(key, path, media_type)

        target = DeliveryTarget(s3_config.bucket, s3_config.access_key, s3_config.secret_key, s3_config.region)
        return BatchApiRun(batch_plan(), job_id, common_pb2.User(user_id="basic~demo"), runner, storage,
                           runner.pool, target, tmp_path, lambda level, msg, data=None: self.lines.append((level, msg)),
                           upload, self.progress.append, lambda outcome: self.partial.append(len(outcome.files)),
                           poll_seconds=0.1)


async def stats(emulator):
    return await (await emulator.get("/_emulator/stats")).json()


def test_task_body_delivers_to_a_job_path_without_the_task_id():
    body = task_body(batch_plan(), "j-1", DeliveryTarget("results", "ak", "sk", "us-east-1"))
    assert body["input"] == {"type": "tiling-grid", "id": 2, "resolution": 360.0, "bufferX": 0, "bufferY": 0}
    s3 = body["output"]["delivery"]["s3"]
    assert s3["url"] == "s3://results/batch-api/j-1/<tileName>/<outputId>.<format>"
    assert body["output"]["skipExisting"] is True
    assert "width" not in body["processRequest"]["output"]
    assert [r["identifier"] for r in body["processRequest"]["output"]["responses"]] == ["default", "userdata"]
    assert estimate(batch_plan()) == {"costs": 100.0, "tiles": 2, "grid": {"id": 2, "resolution": 360.0}}


async def test_job_on_the_batch_api_writes_a_cog_per_tile_and_date_equal_to_the_world(
        runner, storage, s3_config, emulator, tmp_path):
    from sentinelhub_emulator import world

    # the second tile arrives later: the job's progress stops in between
    await emulator.post("/_emulator/faults", json={"scope": "batch_tile", "tile": "33N_4_49", "delay_ms": 1500})
    rec = Recorder()
    outcome, pu = await rec.run(runner, storage, s3_config, tmp_path, "bapi-ok").run()
    assert pu >= 100.0  # Sentinel Hub's minimum per task
    dates = world.acquisition_dates("sentinel-2-l2a", datetime(2024, 5, 1, tzinfo=timezone.utc),
                                    datetime(2024, 5, 31, 23, 59, 59, tzinfo=timezone.utc))
    assert len(outcome.files) == 2 * len(dates) and len(rec.uploaded) == 2 * len(dates)
    for name, (west, south) in TILES.items():
        keys = sorted(k for k in rec.uploaded if name in k)
        assert len(keys) == len(dates)
        for key in keys:
            with rasterio.MemoryFile(rec.uploaded[key]) as mem, mem.open() as ds:
                assert ds.crs.to_epsg() == 32633 and (ds.width, ds.height) == (TILE_PX, TILE_PX)
                assert ds.transform.c == west and ds.transform.f == south + GRID2
                date = datetime.strptime(ds.tags()["datetime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                want = expected_ndvi((west, south, west + GRID2, south + GRID2), 32633, TILE_PX, TILE_PX, date)
                np.testing.assert_allclose(ds.read(1), want, rtol=1e-5, atol=1e-6, equal_nan=True)
                assert ds.profile.get("tiled") and ds.overviews(1) is not None
    assert rec.partial == [len(dates), 2 * len(dates)]  # partial results grow tile by tile
    assert 50.0 in rec.progress and rec.progress == sorted(rec.progress) and rec.progress[-1] == 95.0
    assert (await stats(emulator))["batch_tile_renders"] == {"33N_3_49": 1, "33N_4_49": 1}


async def test_failed_tile_is_reported_and_a_rerun_renders_only_it(runner, storage, s3_config, emulator, tmp_path):
    fault = {"scope": "batch_tile", "tile": "33N_4_49", "count": 3, "message": "Tile exploded (injected)"}
    assert (await emulator.post("/_emulator/faults", json=fault)).status == 201
    rec = Recorder()
    with pytest.raises(OpenEOError) as info:
        await rec.run(runner, storage, s3_config, tmp_path / "a", "bapi-fail").run()
    assert "1 of 2 tile(s) failed" in info.value.message and "Tile exploded (injected)" in info.value.message
    assert ("error", "Tile 33N_4_49 failed on Sentinel Hub: Tile exploded (injected)") in rec.lines
    assert rec.partial and all("33N_3_49" in k for k in rec.uploaded)
    # the restart: a new task on the same paths skips the delivered tile
    again = Recorder()
    outcome, pu = await again.run(runner, storage, s3_config, tmp_path / "b", "bapi-fail").run()
    assert {k.split("_4_49")[0] != k for k in again.uploaded} == {True, False}  # both tiles' COGs again
    assert (await stats(emulator))["batch_tile_renders"] == {"33N_3_49": 1, "33N_4_49": 1}
    assert (await stats(emulator))["batch"]["tiles_skipped"] == 1


async def test_cancel_stops_the_sentinel_hub_task(runner, storage, s3_config, emulator, tmp_path):
    await emulator.post("/_emulator/faults", json={"scope": "batch_tile", "delay_ms": 3000, "count": 4})
    rec = Recorder()
    work = asyncio.create_task(rec.run(runner, storage, s3_config, tmp_path, "bapi-cancel").run())
    for _ in range(200):
        created = [m for _, m in rec.lines if "created" in m]
        if created:
            break
        await asyncio.sleep(0.05)
    task_id = re.search(r"task ([0-9a-f-]{36})", created[0]).group(1)
    await asyncio.sleep(0.5)
    work.cancel()
    with pytest.raises(asyncio.CancelledError):
        await work
    resp = await emulator.post("/auth/realms/main/protocol/openid-connect/token",
                               data={"grant_type": "client_credentials", "client_id": "demo-client",
                                     "client_secret": "demo-secret"})
    token = (await resp.json())["access_token"]
    task = await (await emulator.get(f"/api/v2/batch/process/{task_id}",
                                     headers={"Authorization": f"Bearer {token}"})).json()
    assert task["status"] == "STOPPED" and task["stoppedStatusReason"] == "USER_ACTION"
    assert (await stats(emulator))["batch"]["stops"] == 1


@pytest.mark.parametrize("epsg, origin, res", [(32633, (400000.0, 5200000.0), 10.0), (4326, (13.0, 46.0), 0.001)])
def test_tile_decoding_fast_path_equals_rasterio(epsg, origin, res):
    from rasterio.transform import from_origin

    from executor_svc.batch_engine import tiles

    data = np.random.default_rng(1).random((4, 30, 40)).astype("float32")
    data[0, 0, 0] = np.nan
    with rasterio.MemoryFile() as mem:
        with mem.open(driver="GTiff", width=40, height=30, count=4, dtype="float32", crs=f"EPSG:{epsg}",
                      transform=from_origin(*origin, res, res), interleave="pixel") as ds:
            ds.write(data)
        tif = mem.read()
    userdata = b'{"dates": ["2024-05-01T00:00:00Z", "2024-05-06T00:00:00Z"], "bands": []}'
    plan = batch_plan()
    plan.loads[0].band_labels[:] = ["B04", "B08"]
    fast_plan, fast = tiles.tile_load(plan, tif, userdata, "t")
    original = tiles._georeferenced_fast
    try:
        tiles._georeferenced_fast = lambda _: None
        slow_plan, slow = tiles.tile_load(plan, tif, userdata, "t")
    finally:
        tiles._georeferenced_fast = original
    assert fast_plan.loads[0].bbox == slow_plan.loads[0].bbox and fast_plan.loads[0].bbox.epsg == epsg
    assert fast.cube.dims == slow.cube.dims and fast.cube.shape == (2, 2, 30, 40)
    np.testing.assert_array_equal(fast.cube.values, slow.cube.values)
    np.testing.assert_array_equal(fast.cube.x.values, slow.cube.x.values)
    assert not plan.loads[0].bbox == fast_plan.loads[0].bbox and not fast_plan.HasField("batch_api")


async def test_kernel_tiles_get_their_buffer_and_equal_one_large_process_api_run(
        runner, storage, s3_config, emulator, tmp_path):
    """Edge pixels of a tile see the real neighbours (the buffer), like one run over both tiles."""
    from .fakes import NDVI_GRAPH, plan_for_graph

    kernel = [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    graph = {**NDVI_GRAPH,
             "k": {"process_id": "apply_kernel", "arguments": {"data": {"from_node": "ndvi"}, "kernel": kernel,
                                                               "factor": 1 / 16}},
             "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "k"}, "format": "GTiff"},
                      "result": True}}
    base = batch_plan()
    plan = plan_for_graph(graph, "save", list(base.loads), base.output)
    plan.batch_api.CopyFrom(base.batch_api)
    plan.batch_api.buffer_px = 1
    rec = Recorder()
    run = rec.run(runner, storage, s3_config, tmp_path, "bapi-kernel")
    run.plan = plan
    outcome, _ = await run.run()
    tile3 = sorted(k for k in rec.uploaded if "33N_3_49" in k)[0]
    with rasterio.MemoryFile(rec.uploaded[tile3]) as mem, mem.open() as ds:
        got, label = ds.read(1), ds.tags()["datetime"]
        assert (ds.width, ds.height) == (TILE_PX, TILE_PX) and ds.transform.c == 3 * GRID2
    # the reference: one Process API run over both tiles plus one pixel around, cut to tile 3
    reference = plan_for_graph(graph, "save", list(base.loads), base.output)
    load = reference.loads[0]
    load.bbox.CopyFrom(compiler_pb2.BoundingBox(west=3 * GRID2 - 360, south=49 * GRID2 - 360,
                                                east=5 * GRID2 + 360, north=50 * GRID2 + 360, epsg=32633))
    load.width, load.height = 2 * TILE_PX + 2, TILE_PX + 2
    value = (await runner.run(reference, common_pb2.User(user_id="basic~demo"))).value
    day = value.sel(t=np.datetime64(label.rstrip("Z"))).values
    np.testing.assert_allclose(got, day[1:-1, 1:TILE_PX + 1], rtol=1e-5, atol=1e-6, equal_nan=True)
