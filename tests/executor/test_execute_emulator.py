"""Execute end to end against the real Sentinel Hub emulator (subprocess) with a hand-written NDVI
plan; the result is checked against `sentinelhub_emulator.world` recomputed with numpy.
"""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import numpy as np
import pytest

from devstack.emulator import running_emulator
import rasterio

from backend_proto.v1 import common_pb2, compiler_pb2, executor_pb2
from executor_svc.runner import PlanRunner
from executor_svc.servicer import ExecutorServicer

from .fakes import ndvi_plan




@pytest.fixture(scope="module")
def emulator_url(tmp_path_factory):
    with running_emulator(tmp_path_factory.mktemp("emulator") / "emulator.log") as emulator:
        yield emulator.url


@pytest.fixture
async def servicer(emulator_url, tmp_path):
    from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient

    pool = ThreadPoolExecutor(4)
    config = ClientConfig(deployment=Deployment.emulator(emulator_url), client_id="demo-client", client_secret="demo-secret")
    async with SentinelHubClient(config, executor=pool) as sh:
        yield ExecutorServicer(PlanRunner(sh, pool), None, None, pool, str(tmp_path))
    pool.shutdown()


def expected_ndvi(bbox, epsg, width, height, date):
    from sentinelhub_emulator import world

    lon, lat = world.pixel_centers_lonlat(bbox, epsg, width, height)
    values = world.band_values("sentinel-2-l2a", ["B04", "B08"], date, lon, lat)
    red, nir = values["B04"], values["B08"]
    return (nir - red) / (nir + red)


async def test_execute_ndvi_matches_the_synthetic_world(servicer):
    from sentinelhub_emulator import world

    bbox = compiler_pb2.BoundingBox(west=500000, south=5199520, east=500640, north=5200000, epsg=32633)
    plan = ndvi_plan(fmt="GTiff", bbox=bbox, width=64, height=48)
    request = executor_pb2.ExecuteRequest(user=common_pb2.User(user_id="basic:demo"), plan=plan)
    chunks = [c async for c in servicer.Execute(request, None)]
    assert chunks[0].processing_units > 0
    blob = b"".join(c.data for c in chunks)
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    end = datetime(2024, 5, 31, 23, 59, 59, tzinfo=timezone.utc)
    dates = world.acquisition_dates("sentinel-2-l2a", start, end)
    assert dates
    if chunks[0].content_type == "application/zip":
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    else:
        files = {chunks[0].filename: blob}
    assert len(files) == len(dates)
    seen = set()
    for name, content in files.items():
        with rasterio.MemoryFile(content) as mem, mem.open() as ds:
            label = ds.tags()["datetime"]
            got = ds.read(1)
            assert ds.crs.to_epsg() == 32633 and (ds.width, ds.height) == (64, 48)
        date = datetime.strptime(label, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        seen.add(date)
        want = expected_ndvi((500000, 5199520, 500640, 5200000), 32633, 64, 48, date)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert seen == {d.replace(microsecond=0) for d in dates}


async def test_a_tile_plan_with_several_dates_makes_one_image_of_the_most_recent(servicer):
    """Issue 20: a multi-date tile graph answered a ZIP. A plan with `single_image` (the compiler
    sets it for tiles) gives one image, each pixel from the most recent date with data."""
    from sentinelhub_emulator import world

    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    end = datetime(2024, 5, 31, 23, 59, 59, tzinfo=timezone.utc)
    dates = world.acquisition_dates("sentinel-2-l2a", start, end)
    assert len(dates) > 1
    user = common_pb2.User(user_id="basic:demo")

    async def run(plan):
        chunks = [c async for c in servicer.Execute(executor_pb2.ExecuteRequest(user=user, plan=plan), None)]
        return chunks[0].content_type, b"".join(c.data for c in chunks)

    several = ndvi_plan(fmt="PNG")
    assert (await run(several))[0] == "application/zip"  # not a tile: one file per date
    several.single_image = True
    content_type, blob = await run(several)
    assert content_type == "image/png" and blob.startswith(b"\x89PNG")

    tiff = ndvi_plan(fmt="GTiff")
    tiff.single_image = True
    content_type, blob = await run(tiff)
    assert content_type.startswith("image/tiff")
    with rasterio.MemoryFile(blob) as mem, mem.open() as ds:
        got = ds.read(1)
        assert ds.count == 1 and (ds.width, ds.height) == (64, 48)
    want = expected_ndvi((500000, 5199520, 500640, 5200000), 32633, 64, 48, max(dates))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
