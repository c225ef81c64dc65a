"""Batch jobs on Sentinel Hub's Batch Processing API v2 with the openeo client (own stack, scaled
to CI size: the Batch API threshold is lowered so a 56 x 28 px load at 360 m runs as 2 tiles of
Sentinel Hub's 100 km UTM grid)."""

from __future__ import annotations

import time
import warnings
from datetime import datetime, timezone

import numpy as np
import openeo
import pytest
import rasterio
import requests

from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Stack, StackConfig
from sentinelhub_emulator import world

from .emulator_stats import reset_when_idle, stats

GRID2 = 100080.0
TILES = {"33N_3_49": (3 * GRID2, 49 * GRID2), "33N_4_49": (4 * GRID2, 49 * GRID2)}
TILE_PX = 278
EXTENT = {"west": 390000, "south": 4950000, "east": 410000, "north": 4960000, "crs": 32633}
DAYS = ["2024-05-01", "2024-05-11"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    config = StackConfig.free_ports(
        tmp_path_factory.mktemp("batch-api-stack"), executors=1,
        extra_env={"EXECUTOR_LEASE_SECONDS": "6", "EXECUTOR_RENEW_SECONDS": "1", "EXECUTOR_POLL_SECONDS": "0.5",
                   "COMPILER_BATCH_API_MIN_PIXELS": "1000", "SH_EMULATOR_BATCH_EXECUTION_DB_INTERVAL_S": "0.3",
                   "SH_EMULATOR_BATCH_TILE_CONCURRENCY": "1"})
    try:
        running = Stack(config).start()
    except (RuntimeError, TimeoutError) as first:
        warnings.warn(f"local stack failed to start, retrying: {first}")
        running = Stack(StackConfig.free_ports(tmp_path_factory.mktemp("batch-api-stack"), executors=1,
                                               extra_env=config.extra_env)).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def connection(stack) -> openeo.Connection:
    reset_when_idle(stack)
    requests.delete(stack.emulator_url + "/_emulator/faults", timeout=5)
    con = openeo.connect(stack.gateway_url)
    con.authenticate_basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    return con


def fault(stack, **spec) -> None:
    requests.post(stack.emulator_url + "/_emulator/faults", json={"scope": "batch_tile", **spec},
                  timeout=5).raise_for_status()


def ndvi_job(con, title):
    cube = con.load_collection("SENTINEL2_L2A", spatial_extent=EXTENT, temporal_extent=DAYS, bands=["B04", "B08"])
    cube = cube.resample_spatial(resolution=360).ndvi()
    return cube.save_result("GTiff").create_job(title=title)


def wait(job, statuses=("finished", "error", "canceled"), timeout=240.0, on_poll=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = job.describe()
        if on_poll is not None:
            on_poll(info)
        if info["status"] in statuses:
            return info
        time.sleep(0.3)
    raise AssertionError(f"job still {info['status']}")


def expected_ndvi(west, south, date):
    from pyproj import Transformer

    res = GRID2 / TILE_PX
    xs = west + (np.arange(TILE_PX) + 0.5) * res
    ys = south + GRID2 - (np.arange(TILE_PX) + 0.5) * res
    x, y = np.meshgrid(xs, ys)
    lon, lat = Transformer.from_crs(32633, 4326, always_xy=True).transform(x, y)
    values = world.band_values("sentinel-2-l2a", ["B04", "B08"], date, np.asarray(lon), np.asarray(lat))
    return (values["B08"] - values["B04"]) / (values["B08"] + values["B04"])


def test_job_runs_on_the_batch_api_with_progress_partial_results_and_tile_cogs(stack, connection, tmp_path):
    fault(stack, tile="33N_4_49", delay_ms=5000)  # the second tile comes later: the job is seen half done
    job = ndvi_job(connection, "batch api")
    job.start_job()
    progress, partial = [], []

    def poll(info):
        progress.append(info.get("progress") or 0)
        if info["status"] == "running":
            items = connection.get(f"/jobs/{job.job_id}/results", params={"partial": "true"}).json()
            partial.append(sorted(items.get("assets", {})))

    info = wait(job, on_poll=poll)
    assert info["status"] == "finished", job.logs()
    assert any(10 < p < 95 for p in progress), progress
    assert any(names and all("33N_3_49" in n for n in names) for names in partial), partial
    results = job.get_results()
    paths = results.download_files(tmp_path)
    tifs = [p for p in paths if p.suffix == ".tif"]
    dates = world.acquisition_dates("sentinel-2-l2a", datetime(2024, 5, 1, tzinfo=timezone.utc),
                                    datetime(2024, 5, 10, 23, 59, 59, tzinfo=timezone.utc))
    assert len(tifs) == 2 * len(dates)
    for path in tifs:
        tile = next(name for name in TILES if name in path.name)
        west, south = TILES[tile]
        with rasterio.open(path) as ds:
            assert ds.crs.to_epsg() == 32633 and (ds.width, ds.height) == (TILE_PX, TILE_PX)
            assert (ds.transform.c, ds.transform.f) == (west, south + GRID2)
            date = datetime.strptime(ds.tags()["datetime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
            np.testing.assert_allclose(ds.read(1), expected_ndvi(west, south, date), rtol=1e-5, atol=1e-6,
                                       equal_nan=True)
    counters = stats(stack)
    assert counters["batch_tile_renders"] == {"33N_3_49": 1, "33N_4_49": 1}
    assert counters["requests"].get("process", 0) == 0  # no Process API call: all through the Batch API


def test_failed_tile_ends_in_error_with_its_reason_and_a_restart_reruns_only_it(stack, connection):
    fault(stack, tile="33N_4_49", count=3, message="Tile exploded (injected)")
    job = ndvi_job(connection, "batch api failure")
    job.start_job()
    info = wait(job)
    assert info["status"] == "error"
    messages = [entry["message"] for entry in job.logs()]
    assert any("Tile 33N_4_49 failed on Sentinel Hub: Tile exploded (injected)" in m for m in messages), messages
    assert stats(stack)["batch_tile_renders"] == {"33N_3_49": 1}
    job.start_job()
    assert wait(job)["status"] == "finished", job.logs()
    counters = stats(stack)
    assert counters["batch_tile_renders"] == {"33N_3_49": 1, "33N_4_49": 1}  # the done tile is not re-rendered
    assert counters["batch"]["tiles_skipped"] == 1


def test_cancel_stops_the_sentinel_hub_task(stack, connection):
    fault(stack, delay_ms=8000, count=4)
    job = ndvi_job(connection, "batch api cancel")
    job.start_job()
    wait(job, statuses=("running",))
    deadline = time.time() + 60
    while not stats(stack)["batch"].get("tile_renders") and not any(
            "created" in e["message"] for e in job.logs()) and time.time() < deadline:
        time.sleep(0.3)
    job.stop_job()
    assert wait(job)["status"] == "canceled"
    deadline = time.time() + 30
    while stats(stack)["batch"].get("stops", 0) < 1 and time.time() < deadline:
        time.sleep(0.3)
    assert stats(stack)["batch"]["stops"] == 1
