"""load_result: GeoTIFF batch results → cube (pure, from files the encoder really writes), the
filters, the job/URL checks, and the whole chain batch worker → S3 → PlanRunner (real S3)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from backend_common.errors import OpenEOError
from backend_proto.v1 import common_pb2, compiler_pb2, store_pb2
from executor_svc.batch.results import build_results
from compiler_svc.output_formats import output_format
from executor_svc.encoding import encode_result
from executor_svc.loading.job_results import JobResultLoader
from executor_svc.loading.result_files import (
    assets_in_interval,
    cube_from_result_files,
    raster_assets,
    read_result_cube,
)
from executor_svc.processes import REGISTRY
from executor_svc.runner import PlanRunner

from .fakes import FakeSentinelHub, FakeStore, make_job, ndvi_plan, synthetic_band

DATES = ["2024-05-03T00:00:00", "2024-05-13T10:15:00", "2024-05-23T00:00:00"]


def utm_cube(dates=DATES, bands=("B04", "B08"), width=40, height=30, res=10.0) -> xr.DataArray:
    rng = np.random.default_rng(7)
    values = rng.random((len(dates), len(bands), height, width)).astype(np.float32)
    values[:, :, 0, 0] = np.nan
    xs = 500000 + (np.arange(width) + 0.5) * res
    ys = 5200000 - (np.arange(height) + 0.5) * res
    return xr.DataArray(
        values, dims=("t", "bands", "y", "x"),
        coords={"t": pd.to_datetime(list(dates)).values, "bands": list(bands), "y": ys, "x": xs},
        attrs={"crs": 32633},
    )


def write(cube, tmp_path, options=None, job_id="job-1"):
    """Encodes like the batch worker; returns (files [(path, asset date)], the job's results)."""
    files = encode_result(cube, output_format("GTiff", options or {}), options or {}, tmp_path)
    results = build_results(job_id, files, store_pb2.JobResults())
    return [(str(f.path), f.datetime) for f in files], results


def assert_same(a: xr.DataArray, b: xr.DataArray):
    assert a.dims == b.dims
    for dim in a.dims:
        if a[dim].dtype.kind == "f":
            np.testing.assert_allclose(a[dim].values, b[dim].values)
        else:
            assert list(a[dim].values) == list(b[dim].values), dim
    np.testing.assert_array_equal(a.values, b.values)
    assert a.attrs["crs"] == b.attrs["crs"]


def test_round_trip_of_one_file_per_date(tmp_path):
    cube = utm_cube()
    files, results = write(cube, tmp_path)
    assert len(files) == 3
    loaded = read_result_cube(files, job_id="job-1")
    assert_same(loaded.transpose("t", "bands", "y", "x"), cube)
    assert loaded.dtype == np.float32 and np.isnan(loaded.values[:, :, 0, 0]).all()
    # dates from the asset entries / file names alone (no label passed): the datetime tag decides
    loaded = read_result_cube([(p, None) for p, _ in files], job_id="job-1")
    assert list(loaded.t.values) == list(cube.t.values)
    names = [a.name for a in raster_assets(results, "job-1")]
    assert names == ["openEO_2024-05-03.tif", "openEO_2024-05-13T101500Z.tif", "openEO_2024-05-23.tif"]


def test_result_without_time_dimension_and_nodata_option(tmp_path):
    cube = utm_cube().isel(t=0, drop=True)
    files, _ = write(cube, tmp_path, {"nodata": -9999})
    loaded = read_result_cube(files, job_id="job-1")
    assert loaded.dims == ("bands", "y", "x")
    assert_same(loaded, cube)  # -9999 is read back as NaN


def test_time_as_bands_is_split_back_into_t_and_bands(tmp_path):
    cube = utm_cube()
    files, _ = write(cube, tmp_path, {"time_as_bands": True})
    assert len(files) == 1
    assert_same(read_result_cube(files, job_id="job-1"), cube)


def test_spatial_chunks_are_mosaicked(tmp_path):
    cube = utm_cube(width=50, height=35)
    files = []
    for r, rows in enumerate((slice(0, 20), slice(20, 35))):
        for c, cols in enumerate((slice(0, 30), slice(30, 50))):
            part, _ = write(cube.isel(y=rows, x=cols), tmp_path / f"c{r}{c}", {"filename_prefix": f"openEO_r{r}c{c}"})
            files += part
    assert len(files) == 12
    assert_same(read_result_cube(files, job_id="job-1"), cube)


def test_filters_match_the_filter_processes(tmp_path):
    cube = utm_cube()
    files, _ = write(cube, tmp_path)
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs(32633, 4326, always_xy=True)
    w, s = to_wgs84.transform(500090, 5199790)
    e, n = to_wgs84.transform(500260, 5199920)
    bbox = {"west": w, "south": s, "east": e, "north": n}
    loaded = cube_from_result_files(files, job_id="job-1", spatial_extent=bbox,
                                    temporal_extent=["2024-05-10", None], bands=["nir"])
    expected = REGISTRY.call("filter_bbox", {"data": cube, "extent": bbox})
    expected = expected.isel(t=[1, 2]).sel(bands=["B08"])
    assert 0 < loaded.sizes["x"] < cube.sizes["x"] and 0 < loaded.sizes["y"] < cube.sizes["y"]
    assert_same(loaded, expected)
    # a bbox in the cube's own CRS; end of the interval excluded
    loaded = cube_from_result_files(files, job_id="job-1", temporal_extent=["2024-05-01", "2024-05-23"],
                                    spatial_extent={"west": 500000, "south": 5199900, "east": 500100, "north": 5200000, "crs": 32633})
    assert loaded.sizes == {"t": 2, "bands": 2, "y": 10, "x": 10}
    np.testing.assert_array_equal(loaded.values, cube.values[:2, :, :10, :10])
    # a polygon: its bounding box, pixels outside the polygon NaN
    polygon = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [w, n], [w, s]]]}
    loaded = cube_from_result_files(files, job_id="job-1", spatial_extent=polygon)
    expected = REGISTRY.call("filter_spatial", {"data": cube, "geometries": polygon})
    assert_same(loaded, expected)
    assert np.isnan(loaded.values).sum() > np.isnan(cube.values).sum()


def test_filter_problems(tmp_path):
    files, _ = write(utm_cube(), tmp_path)
    with pytest.raises(OpenEOError) as info:
        cube_from_result_files(files, job_id="job-1", spatial_extent={"west": 0, "south": 0, "east": 1, "north": 1})
    assert info.value.code == "NoDataAvailable"
    with pytest.raises(OpenEOError) as info:
        cube_from_result_files(files, job_id="job-1", bands=["B02"])
    assert info.value.code == "LabelNotAvailable" and "B02" in info.value.message
    empty = cube_from_result_files(files, job_id="job-1", temporal_extent=["2025-01-01", None])
    assert empty.sizes["t"] == 0


def test_assets_and_interval_preselection():
    tiff = "image/tiff; application=geotiff"
    results = store_pb2.JobResults(assets=[
        store_pb2.ResultAsset(name="b_2024-05-13.tif", key="jobs/j/b_2024-05-13.tif", media_type=tiff, roles=["data"]),
        store_pb2.ResultAsset(name="a.tif", key="jobs/j/a.tif", media_type=tiff, roles=["data"],
                              datetime="2024-05-03T00:00:00Z",
                              bands=[store_pb2.Band(name="B04", common_name="red", center_wavelength=0.665)]),
        store_pb2.ResultAsset(name="other.tif", key="jobs/other/x.tif", media_type="image/tiff", roles=["data"]),
        store_pb2.ResultAsset(name="x.png", key="jobs/j/x.png", media_type="image/png", roles=["data"]),
        store_pb2.ResultAsset(name="job-results.json", key="jobs/j/job-results.json", media_type="application/json",
                              roles=["metadata"]),
    ])
    assets = raster_assets(results, "j")
    assert [(a.name, a.datetime) for a in assets] == [("a.tif", "2024-05-03T00:00:00Z"), ("b_2024-05-13.tif", "2024-05-13")]
    assert [a.name for a in assets_in_interval(assets, ["2024-05-10", None])] == ["b_2024-05-13.tif"]
    assert [a.name for a in assets_in_interval(assets, [None, "2024-05-13"])] == ["a.tif"]
    assert assets[0].eo_bands == [{"name": "B04", "common_name": "red", "center_wavelength": 0.665}]
    assert raster_assets(store_pb2.JobResults(), "j") == []


# ---- batch worker → S3 → load_result (real S3) ----------------------------------------------------------------


@pytest.fixture
def pool():
    with ThreadPoolExecutor(4) as executor:
        yield executor


def alice():
    return common_pb2.User(user_id="basic:alice")


def compiled(graph: dict, purpose=compiler_pb2.PURPOSE_BATCH) -> compiler_pb2.ExecutionPlan:
    """The real compiler's plan of a (valid) graph."""
    from compiler_svc.planning.planner import plan

    return plan({"process_graph": graph}, udps={}, parameter_values={}, purpose=purpose)


def times_two_plan(job_id, **args):
    graph = {
        "l": {"process_id": "load_result", "arguments": {"id": job_id, **args}},
        "a": {"process_id": "apply", "arguments": {"data": {"from_node": "l"}, "process": {"process_graph": {
            "m": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "x"}, "y": 2}, "result": True}}}}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "a"}, "format": "GTiff"}, "result": True},
    }
    return compiled(graph)


async def tiled_job(job_id: str, store: FakeStore, storage, pool, tmp_path) -> None:
    """A finished job whose results are spatial tiles (one GeoTIFF per tile and date, as a job on
    Sentinel Hub's Batch Processing API writes them): 300x260 px in 256 px tiles, 2x2 tiles."""
    files = []
    for r, (y0, y1) in enumerate([(0, 256), (256, 260)]):
        for c, (x0, x1) in enumerate([(0, 256), (256, 300)]):
            bbox = compiler_pb2.BoundingBox(west=500000 + 10 * x0, east=500000 + 10 * x1, north=5200000 - 10 * y0,
                                            south=5200000 - 10 * y1, epsg=32633)
            outcome = await PlanRunner(FakeSentinelHub(), pool).run(ndvi_plan(width=x1 - x0, height=y1 - y0, bbox=bbox),
                                                                    alice())
            options = dict(outcome.options, filename_prefix=f"openEO_r{r}c{c}")
            written = encode_result(outcome.value, outcome.output, options, tmp_path / f"tile-{r}-{c}")
            for f in written:
                await storage.upload_file(f"jobs/{job_id}/{f.name}", f.path, f.media_type)
            files.extend(written)
    job = store.jobs[job_id]
    job.status = "finished"
    job.results.CopyFrom(build_results(job_id, files, store_pb2.JobResults()))


async def test_batch_results_load_back_through_the_plan_runner(storage, pool, tmp_path):
    job = make_job("job-src")
    store = FakeStore([job, make_job("job-queued"), make_job("job-bob", user_id="basic:bob")])
    await tiled_job("job-src", store, storage, pool, tmp_path)
    results = store.jobs["job-src"].results
    assert len([a for a in results.assets if a.name.startswith("openEO_r")]) == 8  # 4 tiles x 2 dates

    loader = JobResultLoader(store, storage, pool, str(tmp_path / "work"))
    runner = PlanRunner(FakeSentinelHub(), pool, results=loader)
    outcome = await runner.run(times_two_plan("job-src"), alice())
    cube = outcome.value
    assert cube.dims == ("t", "bands", "y", "x") and cube.sizes == {"t": 2, "bands": 1, "y": 260, "x": 300}
    assert cube.attrs["crs"] == 32633 and float(cube.x[0]) == 500005.0 and float(cube.y[0]) == 5199995.0
    for ti in range(2):  # the fake fills each chunk's request with its own synthetic raster
        for r0, r1, c0, c1 in [(0, 256, 0, 256), (0, 256, 256, 300), (256, 260, 0, 256), (256, 260, 256, 300)]:
            red, nir = synthetic_band("B04", ti, r1 - r0, c1 - c0), synthetic_band("B08", ti, r1 - r0, c1 - c0)
            expected = 2 * (nir - red) / (nir + red)
            np.testing.assert_allclose(cube.values[ti, 0, r0 + 1:r1, c0 + 1:c1], expected[1:, 1:], rtol=1e-6)
            assert np.isnan(cube.values[ti, 0, r0, c0])
    assert list(tmp_path.joinpath("work").iterdir()) == []  # downloads removed

    # filters: a date and a bbox in the cube CRS
    outcome = await runner.run(times_two_plan("job-src", temporal_extent=["2024-05-10", None],
                                              spatial_extent={"west": 500100, "south": 5199800, "east": 500400,
                                                              "north": 5199900, "crs": 32633}), alice())
    assert outcome.value.sizes == {"t": 1, "bands": 1, "y": 10, "x": 30}
    np.testing.assert_allclose(outcome.value.values[0, 0], cube.values[1, 0, 10:20, 10:40])

    for job_id, code, status in [("job-bob", "JobNotFound", 404), ("job-queued", "JobNotFinished", 400),
                                 ("nope", "JobNotFound", 404)]:
        with pytest.raises(OpenEOError) as info:
            await runner.run(times_two_plan(job_id), alice())
        assert (info.value.code, info.value.status) == (code, status)


async def test_load_result_with_computed_id_runs_on_the_service_loop(pool):
    calls = []

    class Loader:
        async def load(self, user, id, **kw):
            calls.append((asyncio.get_running_loop(), user.user_id, id, kw))
            if id != "j-1":
                raise OpenEOError("JobNotFound", "The batch job does not exist.", 404)
            return utm_cube()

    graph = {
        "name": {"process_id": "text_merge", "arguments": {"data": ["j", 1], "separator": "-"}},
        "l": {"process_id": "load_result", "arguments": {"id": {"from_node": "name"}, "bands": ["B04"]}},
        "r": {"process_id": "filter_bands", "arguments": {"data": {"from_node": "l"}, "bands": ["B04"]}, "result": True},
    }
    plan = compiled(graph)
    assert not plan.result_sources and "l" in plan.node_order  # computed: fetched during evaluation
    runner = PlanRunner(FakeSentinelHub(), pool, results=Loader())
    outcome = await runner.run(plan, alice())
    assert outcome.value.sizes["bands"] == 1
    assert calls[0][0] is asyncio.get_running_loop() and calls[0][1:3] == ("basic:alice", "j-1")
    graph["name"]["arguments"]["data"] = ["j", 2]
    with pytest.raises(OpenEOError) as info:
        await runner.run(compiled(graph), alice())
    assert (info.value.code, info.value.status) == ("JobNotFound", 404)


async def test_result_sources_are_fetched_once_before_evaluation(pool):
    calls = []

    class Loader:
        async def load(self, user, id, **kw):
            calls.append((id, kw))
            return utm_cube()

    args = {"id": "j-1", "spatial_extent": {"west": 500000, "south": 5199800, "east": 500200, "north": 5200000, "crs": 32633},
            "temporal_extent": ["2024-05-01", None], "bands": ["B04", "B08"]}
    graph = {"l": {"process_id": "load_result", "arguments": args},
             "r": {"process_id": "filter_bands", "arguments": {"data": {"from_node": "l"}, "bands": ["B08"]}, "result": True}}
    plan = compiled(graph)
    assert [s.node_id for s in plan.result_sources] == ["l"] and list(plan.node_order) == ["r"]
    outcome = await PlanRunner(FakeSentinelHub(), pool, results=Loader()).run(plan, alice())
    assert outcome.value.sizes["bands"] == 1 and len(calls) == 1
    assert calls[0] == ("j-1", {k: args[k] for k in ("spatial_extent", "temporal_extent", "bands")})
