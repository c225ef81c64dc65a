"""Batch Statistical: the emulator's endpoints (workflow, GeoPackage from S3, one JSON per feature,
PU, stop lockout, errors) and the executor's run of a plan with many geometries (GeoPackage to S3,
poll, results read back, cleanup, a failed feature named, a cancel stopping the task), against
the in-process emulator and a real S3 endpoint (SeaweedFS)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from backend_common.errors import OpenEOError
from backend_proto.v1 import common_pb2, compiler_pb2
from compiler_svc import compilation
from compiler_svc.config import PlanningSettings
from executor_svc.loading.statistics_batch import BatchStatisticalRun, geopackage_bytes
from executor_svc.runner import PlanRunner
from sentinelhub_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, create_app
from sentinelhub_emulator.batch_statistics import read_geopackage
from sentinelhub_emulator.config import EmulatorConfig

TOKEN_PATH = "/auth/realms/main/protocol/openid-connect/token"
MONTH = ["2024-06-01", "2024-06-16"]


def field(name, west, south, east, north):
    return {"type": "Feature", "properties": {"name": name}, "geometry": {"type": "Polygon", "coordinates": [[
        [west, south], [east, south], [east, north], [west, north], [west, south]]]}}


FIELDS = {"type": "FeatureCollection", "features": [
    field("a", 15.00013, 45.00011, 15.00563, 45.00473),
    field("b", 15.00611, 45.00213, 15.00907, 45.00581),
    field("tiny", 15.003001, 45.006001, 15.003003, 45.006003),
    field("c", 15.00105, 45.00602, 15.00498, 45.00897),
]}


def graph(red="mean"):
    return {"process_graph": {
        "l": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A", "spatial_extent": None,
                                                             "temporal_extent": MONTH, "bands": ["B04", "B08"]}},
        "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}, "nir": "B08", "red": "B04"}},
        "a": {"process_id": "aggregate_spatial", "arguments": {"data": {"from_node": "n"}, "geometries": FIELDS,
              "reducer": {"process_graph": {"r": {"process_id": red, "arguments": {"data": {"from_parameter": "data"}},
                                                  "result": True}}}}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "a"}, "format": "JSON"}, "result": True}}}


async def _no_udps(_udp_id):
    return None


async def compile_(g, **settings):
    return await compilation.compile_process(json.dumps(g), _no_udps, purpose=compiler_pb2.PURPOSE_BATCH,
                                             settings=PlanningSettings(**settings))


@pytest.fixture
async def emulator(s3_server):
    client = TestClient(TestServer(create_app(EmulatorConfig(s3_endpoint_url=s3_server.endpoint_url))))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def env(emulator, storage):
    from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient

    url = str(emulator.make_url("/")).rstrip("/")
    config = ClientConfig(deployment=Deployment.emulator(url), client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET)
    with ThreadPoolExecutor(2) as pool:
        async with SentinelHubClient(config, executor=pool) as sh:
            yield sh, PlanRunner(sh, pool, storage=storage), pool


async def emu_stats(emulator) -> dict:
    return await (await emulator.get("/_emulator/stats")).json()


def test_geopackage_roundtrip_keeps_ids_identifiers_and_crs():
    agg = compiler_pb2.StatisticalAggregation()
    for i, geom in enumerate([None, {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 0]]]},
                              {"type": "MultiPolygon", "coordinates": [[[[20, 20], [30, 20], [30, 30], [20, 20]]]]}]):
        g = agg.geometries.add()
        g.bbox.epsg = 32633
        g.geometry_json = json.dumps(geom) if geom else ""
    epsg, features = read_geopackage(geopackage_bytes(agg))
    assert epsg == 32633
    assert [(ident, round(geom.area)) for _, ident, geom in features] == [("1", 50), ("2", 50)]
    assert [fid for fid, _, _ in features] == [1, 2]  # the GeoPackage's primary keys


async def test_many_geometries_in_one_batch_statistical_request(env, emulator, storage):
    sh, runner, _ = env
    batch_plan = await compile_(graph(), batch_statistics_min_geometries=3)
    sync_plan = await compile_(graph())
    raster_plan = await compile_(graph(), statistical_api=False)
    assert batch_plan.statistical_aggregations[0].batch and not sync_plan.statistical_aggregations[0].batch

    await emulator.delete("/_emulator/stats")
    user = common_pb2.User(user_id="basic~batch-stats")
    got = (await runner.run(batch_plan, user)).value
    counters = await emu_stats(emulator)
    assert counters["requests"]["batch_statistics_create"] == 1
    assert counters["batch_statistics"]["features_processed"] == 3  # the tiny field has no pixel: not sent
    assert "statistics" not in counters["requests"] and "process" not in counters["requests"]
    assert await storage.list_keys("statistics-batch/") == []  # input and results removed
    outcome = await runner.run(raster_plan, user)
    want = outcome.value
    exact = (await runner.run(sync_plan, user)).value
    assert got.dims == want.dims == ("geometry", "t") and got.shape == want.shape
    np.testing.assert_array_equal(got.coords["t"].values, want.coords["t"].values)
    np.testing.assert_array_equal(np.isnan(got.values), np.isnan(want.values))
    assert np.isnan(got.values[2]).all() and np.isfinite(got.values[[0, 1, 3]]).all()
    # each feature sampled on its own grid (Sentinel Hub's Batch Statistical): not the raster
    # path's pixels, but the same field means to well within the NDVI's variation over a field
    np.testing.assert_allclose(got.values, want.values, rtol=0.02, atol=0.005)
    np.testing.assert_allclose(exact.values, want.values, rtol=1e-5)  # the sync Statistical API: exact


async def test_emulator_workflow_results_and_errors(env, emulator, storage, s3_server):
    sh, runner, pool = env
    plan = await compile_(graph(), batch_statistics_min_geometries=3)
    agg = plan.statistical_aggregations[0]
    run = BatchStatisticalRun(agg, sh, storage, token=None, pool=pool)
    await storage.put_bytes(run.prefix + "features.gpkg", geopackage_bytes(agg))
    creds = {"accessKey": s3_server.access_key, "secretAccessKey": s3_server.secret_key}
    from executor_svc.loading.statistics_batch import batch_request

    body = batch_request(agg, run._url(run.prefix + "features.gpkg"), run._url(run.prefix + "out"), creds)
    created = await sh.batch_statistics("POST", "", body)
    assert created["status"] == "CREATED" and created["request"]["output"] and created["userAction"] == "NONE"
    await sh.batch_statistics("POST", f"/{created['id']}/analyse", None)
    for _ in range(100):
        status = await sh.batch_statistics("GET", f"/{created['id']}/status", None)
        if status["status"] == "ANALYSIS_DONE":
            break
        await asyncio.sleep(0.05)
    assert status["status"] == "ANALYSIS_DONE" and status["costPU"] == 0
    await sh.batch_statistics("POST", f"/{created['id']}/start", None)
    for _ in range(200):
        status = await sh.batch_statistics("GET", f"/{created['id']}/status", None)
        if status["status"] == "DONE":
            break
        await asyncio.sleep(0.05)
    assert status["status"] == "DONE" and status["completionPercentage"] == 100
    assert status["costPU"] == pytest.approx(100.0)  # the minimum per request
    # a plain prefix is <url>/<REQUEST_ID>/<ID>.json; ID = the GeoPackage's primary key
    keys = sorted(await storage.list_keys(run.prefix + "out/"))
    assert keys == [f"{run.prefix}out/{created['id']}/{i}.json" for i in (1, 2, 3)]
    doc = json.loads(await storage.get_bytes(keys[0]))
    assert doc["id"] == 1 and doc["identifier"] == "0" and doc["response"]["status"] == "OK"
    assert doc["response"]["data"][0]["outputs"]["o0"]["bands"]["B0"]["stats"]["sampleCount"] > 0
    listing = await sh.batch_statistics("GET", "", None)
    assert created["id"] in [t["id"] for t in listing["data"]]
    with pytest.raises(OpenEOError):  # stopping a finished request
        await sh.batch_statistics("POST", f"/{created['id']}/stop", None)
    await storage.delete_prefix(run.prefix)

    token = (await (await emulator.post(TOKEN_PATH, data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID,
                                                          "client_secret": DEMO_CLIENT_SECRET})).json())["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    for broken, message in ((dict(body, input=dict(body["input"], bounds={"bbox": [0, 0, 1, 1]})), "input.bounds"),
                            ({k: v for k, v in body.items() if k != "output"}, "output.s3.url"),
                            (dict(body, aggregation=dict(body["aggregation"], evalscriptReference={"s3": {}})), "exactly one")):
        resp = await emulator.post("/api/v1/statistics/batch", json=broken, headers=auth)
        assert resp.status == 400 and message in (await resp.json())["error"]["message"]
    resp = await emulator.get("/api/v1/statistics/batch/nope/status", headers=auth)
    assert resp.status == 404


async def test_a_failed_feature_is_named_and_fails_the_run(env, emulator):
    _, runner, _ = env
    plan = await compile_(graph(), batch_statistics_min_geometries=3)
    await emulator.post("/_emulator/statistics-batch/faults", json={"feature_id": 2})
    with pytest.raises(OpenEOError) as info:
        await runner.run(plan, common_pb2.User(user_id="basic~batch-stats"))
    assert "geometry 1" in str(info.value) and "Injected feature fault" in str(info.value)


async def test_cancel_stops_the_sentinel_hub_task_and_restart_is_locked(env, emulator, storage):
    sh, runner, pool = env
    plan = await compile_(graph(), batch_statistics_min_geometries=3)
    await emulator.post("/_emulator/statistics-batch/faults", json={"feature_id": 1, "delay_ms": 3000, "fail": False})
    run = BatchStatisticalRun(plan.statistical_aggregations[0], sh, storage, token=None, pool=pool, poll_seconds=0.1)
    task = asyncio.ensure_future(run.run())
    for _ in range(100):
        await asyncio.sleep(0.05)
        if run.task_id is not None:
            break
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    status = await sh.batch_statistics("GET", f"/{run.task_id}/status", None)
    assert status["status"] == "STOPPED" and status["stoppedStatusReason"] == "USER_ACTION"
    with pytest.raises(OpenEOError) as info:
        await sh.batch_statistics("POST", f"/{run.task_id}/start", None)
    assert "30 minutes" in str(info.value)
    assert await storage.list_keys(run.prefix) == []


async def test_out_of_units_stops_the_task_and_too_few_units_refuse_it(s3_server, storage):
    from executor_svc.loading.statistics_batch import batch_request
    from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient

    emulator = TestClient(TestServer(create_app(EmulatorConfig(s3_endpoint_url=s3_server.endpoint_url, pu_quota=1000.001))))
    await emulator.start_server()
    try:
        url = str(emulator.make_url("/")).rstrip("/")
        config = ClientConfig(deployment=Deployment.emulator(url), client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET)
        with ThreadPoolExecutor(2) as pool:
            async with SentinelHubClient(config, executor=pool) as sh:
                agg = (await compile_(graph(), batch_statistics_min_geometries=3)).statistical_aggregations[0]
                run = BatchStatisticalRun(agg, sh, storage, token=None, pool=pool)
                await storage.put_bytes(run.prefix + "features.gpkg", geopackage_bytes(agg))
                creds = {"accessKey": s3_server.access_key, "secretAccessKey": s3_server.secret_key}
                body = batch_request(agg, run._url(run.prefix + "features.gpkg"), run._url(run.prefix + "out"), creds)
                task = await sh.batch_statistics("POST", "", body)
                await sh.batch_statistics("POST", f"/{task['id']}/start", None)
                for _ in range(200):
                    status = await sh.batch_statistics("GET", f"/{task['id']}/status", None)
                    if status["status"] in ("STOPPED", "DONE", "FAILED"):
                        break
                    await asyncio.sleep(0.05)
                # the first feature's units leave fewer than 1000: stopped before the second
                assert status["status"] == "STOPPED" and status["stoppedStatusReason"] == "OUT_OF_PU"
                assert 0 < status["costPU"] < 100 and 0 < status["completionPercentage"] < 100
                with pytest.raises(OpenEOError) as info:
                    await sh.batch_statistics("POST", f"/{task['id']}/start", None)
                assert "60 minutes" in str(info.value)
                with pytest.raises(OpenEOError) as info:  # creating needs 1000 PU left
                    await sh.batch_statistics("POST", "", body)
                assert "1000 processing units" in str(info.value)
                await storage.delete_prefix(run.prefix)
    finally:
        await emulator.close()


async def test_progress_follows_the_features_done(env, emulator):
    _, runner, _ = env
    plan = await compile_(graph(), batch_statistics_min_geometries=3)
    # the third feature waits: the status is polled while one or two of three are done
    await emulator.post("/_emulator/statistics-batch/faults", json={"feature_id": 3, "delay_ms": 4500, "fail": False})
    seen = []
    await runner.run(plan, common_pb2.User(user_id="basic~batch-stats"), on_progress=seen.append)
    fetching = [p for p in seen if p <= 60.0]
    assert any(0 < p < 60 for p in fetching), seen  # intermediate values, not 0 then 100
    assert fetching == sorted(fetching) and 60.0 in seen
