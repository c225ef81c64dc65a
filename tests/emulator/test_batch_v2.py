"""Batch Processing API v2 of the emulator (reference §5.2) against a real SeaweedFS bucket."""
from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import tempfile

import aiohttp

import numpy as np
import pytest
from shapely.geometry import box

from devstack.s3 import _free_port, start_s3
from sentinelhub_emulator.batch_v2.grids import GRIDS, tiles_for
from sentinelhub_emulator.batch_v2.runner import BatchSettings

from .conftest import NDVI, UTM33, process_body, read_raster, sh_error

# two tiles of grid 2 (100080 m) at 360 m: columns 3 and 4 of row 49 in UTM zone 33N
AOI = (390000.0, 4950000.0, 410000.0, 4960000.0)
TILE_PX = 278


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    handle = start_s3(tmp_path_factory.mktemp("s3"), s3_port=_free_port(), bucket="batch-v2-tests")
    yield handle
    if not handle.external:
        handle.stop()


@pytest.fixture
async def batch_emu(make_emu, s3):
    async def make(**settings):
        return await make_emu(batch=BatchSettings(s3_endpoint=s3.endpoint_url, execution_db_interval_s=0.2,
                                                  **settings))
    return make


def task_body(s3, prefix, grid=2, resolution=360.0, bbox=AOI, secret=None, **output):
    pr = process_body(NDVI, bbox=bbox, crs=UTM33,
                      responses=[{"identifier": "default", "format": {"type": "image/tiff"}},
                                 {"identifier": "userdata", "format": {"type": "application/json"}}])
    del pr["output"]["width"], pr["output"]["height"]
    out = {"type": "raster", "delivery": {"s3": {"url": f"s3://{s3.bucket}/{prefix}", "accessKey": s3.access_key,
                                                 "secretAccessKey": secret or s3.secret_key}}}
    out.update(output)
    return {"processRequest": pr, "input": {"type": "tiling-grid", "id": grid, "resolution": resolution},
            "output": out, "description": "test"}


async def call(emu, method, path, **kw):
    return await emu.client.request(method, path, headers=await emu.auth(), **kw)


async def wait_status(emu, task_id, statuses, timeout=60.0):
    seen = []
    for _ in range(int(timeout / 0.05)):
        task = await (await call(emu, "GET", f"/api/v2/batch/process/{task_id}")).json()
        seen.append(task["completionPercentage"])
        if task["status"] in statuses:
            return task, seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"task stayed {task['status']}")


def feature_manifest(s3, prefix, task_id) -> dict[str, list[dict]]:
    """{table: rows as dicts with a shapely `geometry`} of the task's featureManifest GeoPackage."""
    import pyogrio
    import shapely

    body = s3.client().get_object(Bucket=s3.bucket, Key=f"{prefix}/featureManifest-{task_id}.gpkg")["Body"].read()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "manifest.gpkg")
        with open(path, "wb") as handle:
            handle.write(body)
        tables = {}
        for layer, _ in pyogrio.list_layers(path):
            meta, _, geometry, fields = pyogrio.raw.read(path, layer=layer)
            assert meta["crs"] == f"EPSG:{layer.rsplit('_', 1)[1]}"
            tables[layer] = [dict(zip(meta["fields"], values), geometry=shapely.from_wkb(g))
                             for *values, g in zip(*fields, geometry)]
        return tables


def execution_db(s3, prefix, task_id):
    body = s3.client().get_object(Bucket=s3.bucket, Key=f"{prefix}/execution-{task_id}.sqlite")["Body"].read()
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".sqlite") as fh:
        fh.write(body)
        fh.flush()
        con = sqlite3.connect(fh.name)
        rows = con.execute("SELECT name, status, error, delivered FROM features ORDER BY id").fetchall()
        con.close()
    return rows


def test_grids_tile_an_area_in_its_utm_zone_with_buffer():
    tiles = tiles_for(GRIDS[2], 360.0, box(*AOI), 32633)
    assert [t.name for t in tiles] == ["33N_3_49", "33N_4_49"]
    assert tiles[0].epsg == 32633 and (tiles[0].width, tiles[0].height) == (TILE_PX, TILE_PX)
    assert tiles[0].bbox == (3 * 100080.0, 49 * 100080.0, 4 * 100080.0, 50 * 100080.0)
    buffered = tiles_for(GRIDS[2], 360.0, box(*AOI), 32633, buffer_x=2, buffer_y=1)[0]
    assert (buffered.width, buffered.height) == (TILE_PX + 4, TILE_PX + 2)
    assert buffered.bbox[0] == 3 * 100080.0 - 720.0 and buffered.bbox[1] == 49 * 100080.0 - 360.0
    # an area across the 12°E zone border: tiles in zones 32 and 33, each in its own CRS
    across = tiles_for(GRIDS[0], 60.0, box(11.9, 45.0, 12.1, 45.05), 4326)
    assert {t.epsg for t in across} == {32632, 32633}
    laea = tiles_for(GRIDS[7], 20.0, box(10.0, 50.0, 10.1, 50.1), 4326)
    assert laea and all(t.epsg == 3035 and t.width == 1000 for t in laea)


async def test_tiling_grid_endpoints(emu):
    resp = await call(emu, "GET", "/api/v2/batch/tilinggrids")
    assert resp.status == 200
    data = (await resp.json())["data"]
    assert [g["id"] for g in data] == [0, 1, 2, 3, 6, 7]
    assert data[0]["properties"] == {"tileWidth": 20040, "tileHeight": 20040, "resolutions": [10, 20, 30, 60],
                                     "unit": "METRE"}
    assert (await (await call(emu, "GET", "/api/v2/batch/tilinggrids/3")).json())["properties"]["unit"] == "DEGREE"
    await sh_error(await call(emu, "GET", "/api/v2/batch/tilinggrids/4"), 400)


@pytest.mark.parametrize("change, text", [
    (lambda b: b["input"].update(id=4), "does not exist"),
    (lambda b: b["input"].update(resolution=10.0), "resolutions"),
    (lambda b: b["processRequest"]["output"]["responses"][0]["format"].update(type="image/png"), "format"),
    (lambda b: b["processRequest"]["output"].update(width=100), "width"),
    (lambda b: b["processRequest"]["input"].pop("bounds"), "bounds"),
    (lambda b: b["output"]["delivery"]["s3"].pop("secretAccessKey"), "secretAccessKey"),
    (lambda b: b["output"]["delivery"]["s3"].update(url="s3://bucket/<requestId>/x.tif"), "<tileName>"),
    (lambda b: b["output"].update(type="zarr"), "Zarr"),
])
async def test_create_refuses_bad_requests(batch_emu, s3, change, text):
    emu = await batch_emu()
    body = task_body(s3, "bad")
    change(body)
    err = await sh_error(await call(emu, "POST", "/api/v2/batch/process", json=body), 400, "COMMON_BAD_PAYLOAD")
    assert text in err["message"]


async def test_create_with_wrong_bucket_credentials_is_refused(batch_emu, s3):
    emu = await batch_emu()
    resp = await call(emu, "POST", "/api/v2/batch/process", json=task_body(s3, "creds", secret="wrong"))
    err = await sh_error(resp, 400)
    assert "Could not write" in err["message"]


async def test_create_as_multipart_puts_the_evalscript_part_into_the_process_request(batch_emu, s3):
    emu = await batch_emu()
    body = task_body(s3, "multipart")
    script = body["processRequest"].pop("evalscript")
    form = aiohttp.FormData()
    form.add_field("request", json.dumps(body), content_type="application/json")
    form.add_field("evalscript", script, content_type="text/plain")
    resp = await call(emu, "POST", "/api/v2/batch/process", data=form)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["request"]["processRequest"]["evalscript"] == script


async def test_task_runs_tiles_into_the_bucket_equal_to_the_process_api(batch_emu, s3):
    emu = await batch_emu(tile_concurrency=1)
    resp = await call(emu, "POST", "/api/v2/batch/process", json=task_body(s3, "run"))
    assert resp.status == 201, await resp.text()
    task = await resp.json()
    assert task["status"] == "CREATED" and task["request"]["output"]["delivery"]["s3"]["secretAccessKey"] != \
        s3.secret_key
    tid = task["id"]
    assert (await call(emu, "POST", f"/api/v2/batch/process/{tid}/analyse")).status == 204
    task, _ = await wait_status(emu, tid, ("ANALYSIS_DONE", "FAILED"))
    assert task["status"] == "ANALYSIS_DONE", task
    manifest = feature_manifest(s3, "run", tid)
    assert list(manifest) == ["feature_32633"]
    rows = sorted(manifest["feature_32633"], key=lambda r: (r["identifier"], r["outputId"]))
    assert [(r["identifier"], r["outputId"]) for r in rows] == [
        ("33N_3_49", "default"), ("33N_3_49", "userdata"), ("33N_4_49", "default"), ("33N_4_49", "userdata")]
    assert rows[2]["path"] == f"s3://{s3.bucket}/run/{tid}/33N_4_49/default.tif"
    assert rows[3]["path"] == f"s3://{s3.bucket}/run/{tid}/33N_4_49/userdata.json"
    assert all((r["width"], r["height"]) == (TILE_PX, TILE_PX) for r in rows)
    assert rows[2]["geometry"].equals(box(4 * 100080.0, 49 * 100080.0, 5 * 100080.0, 50 * 100080.0))
    await sh_error(await call(emu, "POST", f"/api/v2/batch/process/{tid}/analyse"), 409)
    # the second tile is held back long enough for the polls to see the first one counted
    await emu.client.post("/_emulator/faults", json={"scope": "batch_tile", "tile": 1, "delay_ms": 600})
    assert (await call(emu, "POST", f"/api/v2/batch/process/{tid}/start")).status == 204
    task, seen = await wait_status(emu, tid, ("DONE", "FAILED"))
    assert task["status"] == "DONE" and task["completionPercentage"] == 100
    assert 50.0 in seen  # one of two tiles done before the other
    assert task["costPU"] == pytest.approx(100.0)  # the per-task minimum
    rows = execution_db(s3, "run", tid)
    assert rows == [("33N_3_49", "DONE", None, 1), ("33N_4_49", "DONE", None, 1)]
    key = f"run/{tid}/33N_4_49/default.tif"
    tif = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    data, profile, transform, crs = read_raster(tif)
    assert crs.to_epsg() == 32633 and (profile["width"], profile["height"]) == (TILE_PX, TILE_PX)
    assert transform.c == 4 * 100080.0 and transform.f == 50 * 100080.0
    tile_bbox = (4 * 100080.0, 49 * 100080.0, 5 * 100080.0, 50 * 100080.0)
    direct = await emu.process(process_body(NDVI, bbox=tile_bbox, crs=UTM33, width=TILE_PX, height=TILE_PX))
    expected, *_ = read_raster(await direct.read())
    np.testing.assert_array_equal(data, expected)
    assert s3.client().head_object(Bucket=s3.bucket, Key=f"run/{tid}/33N_4_49/userdata.json")
    stats = await (await emu.client.get("/_emulator/stats")).json()
    assert stats["batch"]["tiles_done"] == 2 and stats["batch_tile_renders"] == {"33N_3_49": 1, "33N_4_49": 1}


async def test_failing_tile_is_fatal_with_its_reason_and_skip_existing_reruns_only_it(batch_emu, s3):
    emu = await batch_emu()
    faults = {"scope": "batch_tile", "tile": "33N_3_49", "count": 3, "message": "Tile exploded (injected)"}
    assert (await emu.client.post("/_emulator/faults", json=faults)).status == 201
    template = "fail/<tileName>/<outputId>.<format>"
    body = task_body(s3, template, skipExisting=True)
    tid = (await (await call(emu, "POST", "/api/v2/batch/process", json=body)).json())["id"]
    assert (await call(emu, "POST", f"/api/v2/batch/process/{tid}/start")).status == 204  # analyses first
    task, _ = await wait_status(emu, tid, ("DONE", "FAILED"))
    assert task["status"] == "DONE"
    rows = execution_db(s3, "fail", tid)
    assert rows == [("33N_3_49", "FATAL", "Tile exploded (injected)", 0), ("33N_4_49", "DONE", None, 1)]
    stats = await (await emu.client.get("/_emulator/stats")).json()
    assert stats["batch"]["tile_attempts_failed"] == 3 and stats["batch_tile_renders"] == {"33N_4_49": 1}
    # a second task on the same paths with skipExisting renders only the failed tile
    tid2 = (await (await call(emu, "POST", "/api/v2/batch/process", json=body)).json())["id"]
    await call(emu, "POST", f"/api/v2/batch/process/{tid2}/start")
    task2, _ = await wait_status(emu, tid2, ("DONE", "FAILED"))
    assert execution_db(s3, "fail", tid2) == [("33N_3_49", "DONE", None, 1), ("33N_4_49", "DONE", None, 1)]
    stats = await (await emu.client.get("/_emulator/stats")).json()
    assert stats["batch_tile_renders"] == {"33N_3_49": 1, "33N_4_49": 1} and stats["batch"]["tiles_skipped"] == 1


async def test_tile_failing_once_is_retried(batch_emu, s3):
    emu = await batch_emu()
    await emu.client.post("/_emulator/faults", json={"scope": "batch_tile", "tile": 0, "message": "flaky"})
    tid = (await (await call(emu, "POST", "/api/v2/batch/process", json=task_body(s3, "retry"))).json())["id"]
    await call(emu, "POST", f"/api/v2/batch/process/{tid}/start")
    await wait_status(emu, tid, ("DONE", "FAILED"))
    assert [r[1] for r in execution_db(s3, "retry", tid)] == ["DONE", "DONE"]


async def test_stop_then_restart_lock_then_resume(batch_emu, s3):
    emu = await batch_emu(tile_concurrency=1, restart_lock_s=0.5)
    await emu.client.post("/_emulator/faults", json={"scope": "batch_tile", "tile": 0, "delay_ms": 400})
    tid = (await (await call(emu, "POST", "/api/v2/batch/process", json=task_body(s3, "stop"))).json())["id"]
    await call(emu, "POST", f"/api/v2/batch/process/{tid}/start")
    await wait_status(emu, tid, ("PROCESSING",))
    assert (await call(emu, "POST", f"/api/v2/batch/process/{tid}/stop")).status == 204
    task, _ = await wait_status(emu, tid, ("STOPPED",))
    assert task["stoppedStatusReason"] == "USER_ACTION"
    await asyncio.sleep(0.6)  # the in-flight tile finishes; no other starts
    stats = await (await emu.client.get("/_emulator/stats")).json()
    assert stats["batch_tile_renders"] == {"33N_3_49": 1}
    err = await sh_error(await call(emu, "POST", f"/api/v2/batch/process/{tid}/stop"), 409)
    assert "STOPPED" in err["message"]
    assert (await call(emu, "POST", f"/api/v2/batch/process/{tid}/start")).status == 204
    task, _ = await wait_status(emu, tid, ("DONE",))
    stats = await (await emu.client.get("/_emulator/stats")).json()
    assert stats["batch_tile_renders"] == {"33N_3_49": 1, "33N_4_49": 1}


async def test_restart_is_locked_after_a_stop(batch_emu, s3):
    emu = await batch_emu()
    tid = (await (await call(emu, "POST", "/api/v2/batch/process", json=task_body(s3, "lock"))).json())["id"]
    await call(emu, "POST", f"/api/v2/batch/process/{tid}/analyse")
    await wait_status(emu, tid, ("ANALYSIS_DONE",))
    await call(emu, "POST", f"/api/v2/batch/process/{tid}/stop")
    err = await sh_error(await call(emu, "POST", f"/api/v2/batch/process/{tid}/start"), 409)
    assert "30 minutes" in err["message"]


async def test_other_accounts_tasks_are_not_found_and_listing_pages(batch_emu, s3):
    emu = await batch_emu()
    ids = [(await (await call(emu, "POST", "/api/v2/batch/process", json=task_body(s3, "list"))).json())["id"]
           for _ in range(3)]
    page = await (await call(emu, "GET", "/api/v2/batch/process?count=2")).json()
    assert [t["id"] for t in page["data"]] == ids[:2] and page["links"]["nextToken"] == "2"
    page2 = await (await call(emu, "GET", "/api/v2/batch/process?count=2&viewtoken=2")).json()
    assert [t["id"] for t in page2["data"]] == ids[2:] and "nextToken" not in page2["links"]
    await sh_error(await call(emu, "GET", "/api/v2/batch/process/00000000-0000-0000-0000-000000000000"), 404)


async def test_an_account_with_less_than_1000_pu_left_cannot_create_a_task(make_emu, s3):
    emu = await make_emu(pu_quota=900.0, batch=BatchSettings(s3_endpoint=s3.endpoint_url))
    err = await sh_error(await call(emu, "POST", "/api/v2/batch/process", json=task_body(s3, "poor")), 403)
    assert "1000 PU" in err["message"]
    rich = await make_emu(pu_quota=5000.0, batch=BatchSettings(s3_endpoint=s3.endpoint_url))
    assert (await call(rich, "POST", "/api/v2/batch/process", json=task_body(s3, "rich"))).status == 201
