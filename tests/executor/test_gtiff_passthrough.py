"""The GTiff pass-through: a plan whose result is one pushed-down load saved as GTiff gets its COG
made straight from Sentinel Hub's TIFF (by small_cog up to 512 px, else by GDAL). Its file must
be the one the normal path (decode, cube, evaluation, write_cog) writes: same pixels, grid, CRS,
band names, no-data, tags and COG layout; plans it does not cover take the normal path, with
Sentinel Hub asked only once."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from datetime import date, timedelta

import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from backend_proto.v1 import common_pb2, compiler_pb2, executor_pb2
from compiler_svc.compilation import compile_process
from executor_svc.fast_paths import gtiff_passthrough
from tests.e2e.worldcheck import first_acquisition

from .test_execute_emulator import emulator_url, servicer  # noqa: F401  (fixtures)

ACQ = first_acquisition(date(2024, 6, 1))
DAY = [ACQ.date().isoformat(), (ACQ.date() + timedelta(days=1)).isoformat()]
MONTH = ["2024-06-01", "2024-07-01"]
UTM = {"west": 500000, "south": 5000000, "east": 502560, "north": 5002560, "crs": 32633}
USER = common_pb2.User(user_id="u")


def graph(*, bands=("B04", "B08"), ndvi=True, temporal=DAY, reduce_t=False, options=None, fmt="GTiff",
          extent=UTM, extra=False) -> dict:
    g = {"load": {"process_id": "load_collection", "arguments": {
        "id": "SENTINEL2_L2A", "spatial_extent": extent, "temporal_extent": temporal, "bands": list(bands)}}}
    src = "load"
    if ndvi:
        g["ndvi"] = {"process_id": "ndvi", "arguments": {"data": {"from_node": src}, "nir": "B08", "red": "B04"}}
        src = "ndvi"
    if reduce_t:
        g["red"] = {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": src}, "dimension": "t", "reducer": {
            "process_graph": {"m": {"process_id": "median", "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}}}
        src = "red"
    if extra:  # left to the executor
        g["flip"] = {"process_id": "rename_labels", "arguments": {"data": {"from_node": src}, "dimension": "bands",
                                                                  "target": ["a", "b"]}}
        src = "flip"
    save = {"data": {"from_node": src}, "format": fmt}
    if options is not None:
        save["options"] = options
    g["save"] = {"process_id": "save_result", "arguments": save, "result": True}
    return {"process_graph": g}


async def acompile(g: dict) -> compiler_pb2.ExecutionPlan:
    async def no_udps(_name):
        return None

    return await compile_process(json.dumps(g), no_udps, purpose=compiler_pb2.PURPOSE_SYNC)


def plan_of(g: dict) -> compiler_pb2.ExecutionPlan:
    return asyncio.run(acompile(g))


def applies(plan) -> bool:
    """The compiler chose the pass-through for the plan."""
    return plan.strategy == compiler_pb2.RESULT_STRATEGY_GTIFF_PASSTHROUGH


def as_cube_plan(plan) -> compiler_pb2.ExecutionPlan:
    """The same plan with the cube strategy (what the normal path runs)."""
    cube = compiler_pb2.ExecutionPlan()
    cube.CopyFrom(plan)
    cube.strategy = compiler_pb2.RESULT_STRATEGY_CUBE
    return cube


# ---- which plans qualify (pure) ----

@pytest.mark.parametrize("kwargs", [{}, {"ndvi": False}, {"reduce_t": True}, {"options": {"filename_prefix": "x"}},
                                    {"fmt": "gtiff"}, {"fmt": "GeoTiff"}])
def test_pushed_down_gtiff_plans_qualify(kwargs):
    assert applies(plan_of(graph(**kwargs)))


@pytest.mark.parametrize("kwargs", [{"fmt": "netCDF"}, {"fmt": "PNG"}, {"options": {"compression": "lzw"}},
                                    {"options": {"nodata": -1}}, {"ndvi": False, "extra": True}])
def test_other_plans_do_not_qualify(kwargs):
    assert not applies(plan_of(graph(**kwargs)))


def test_plans_larger_than_one_request_do_not_qualify():
    big = {"west": 500000, "south": 5000000, "east": 530000, "north": 5030000, "crs": 32633}  # 3000 px
    assert applies(plan_of(graph()))
    assert not applies(plan_of(graph(extent=big)))


async def test_a_client_splitting_smaller_requests_takes_the_cube_path(servicer, monkeypatch):  # noqa: F811
    """The compiler plans the pass-through up to Sentinel Hub's size limit; an executor configured
    to split smaller requests runs the cube strategy instead (same file, one call per part)."""
    plan = await acompile(graph())
    assert applies(plan)
    from dataclasses import replace

    monkeypatch.setattr(servicer.runner.sh, "config", replace(servicer.runner.sh.config, split_threshold=128))
    counting = CountingSh(servicer.runner.sh)
    monkeypatch.setattr(servicer.runner, "sh", counting)
    data, content_type, _, _ = await execute(servicer, plan)
    assert content_type.startswith("image/tiff") and counting.methods == ["process_raster"]  # split by the client


# ---- against the emulator ----

class CountingSh:
    """Counts the Process API calls of the runner's Sentinel Hub client."""

    def __init__(self, sh):
        self.sh = sh
        self.calls = 0
        self.methods: list[str] = []
        self.config = sh.config

    def __getattr__(self, name):
        return getattr(self.sh, name)

    async def process(self, *args, **kwargs):
        self.calls += 1
        self.methods.append("process")
        return await self.sh.process(*args, **kwargs)

    async def process_raster(self, *args, **kwargs):
        self.calls += 1
        self.methods.append("process_raster")
        return await self.sh.process_raster(*args, **kwargs)


async def execute(servicer, plan) -> tuple[bytes, str, str, float]:
    parts, content_type, filename, pu = [], "", "", 0.0
    async for chunk in servicer.Execute(executor_pb2.ExecuteRequest(user=USER, plan=plan), None):
        if chunk.content_type:
            content_type, filename, pu = chunk.content_type, chunk.filename, chunk.processing_units
        parts.append(chunk.data)
    return b"".join(parts), content_type, filename, pu


async def both_ways(servicer, monkeypatch, plan):
    """(pass-through response, normal-path response, Sentinel Hub calls of each)."""
    counting = CountingSh(servicer.runner.sh)
    monkeypatch.setattr(servicer.runner, "sh", counting)
    fast = await execute(servicer, plan)
    fast_calls, counting.calls = counting.calls, 0
    normal = await execute(servicer, as_cube_plan(plan))
    return fast, normal, (fast_calls, counting.calls)


def describe(data: bytes) -> dict:
    with rasterio.MemoryFile(data) as mf, mf.open() as ds:
        return {"pixels": ds.read(), "transform": ds.transform, "crs": ds.crs, "descriptions": ds.descriptions,
                "nodata": ds.nodata, "tags": ds.tags(), "dtype": ds.dtypes, "layout": ds.tags(ns="IMAGE_STRUCTURE"),
                "band_tags": [ds.tags(i) for i in ds.indexes],
                "blocks": ds.block_shapes, "valid_cog": cog_validate(mf.name)}


@pytest.mark.parametrize("kwargs", [{}, {"ndvi": False}, {"reduce_t": True, "temporal": MONTH},
                                    {"options": {"filename_prefix": "my/ndvi"}},
                                    {"extent": {"west": 14.0, "south": 46.0, "east": 14.02, "north": 46.015}},
                                    {"extent": {**UTM, "east": 506000, "north": 5006000}}])  # 600 px: GDAL
async def test_passthrough_file_equals_the_normal_path(servicer, monkeypatch, kwargs):
    plan = await acompile(graph(**kwargs))
    assert applies(plan)
    image, fetched = await servicer.runner.run_fast_path(plan, USER)
    assert image is not None and fetched is None  # the pass-through really is taken
    (fast, fast_type, fast_name, fast_pu), (normal, normal_type, normal_name, normal_pu), calls = \
        await both_ways(servicer, monkeypatch, plan)
    assert calls == (1, 1)
    assert (fast_type, fast_name, fast_pu) == (normal_type, normal_name, normal_pu)
    assert fast_type.startswith("image/tiff") and fast_name.endswith(".tif") and fast_pu > 0
    a, b = describe(fast), describe(normal)
    assert a["layout"].get("COMPRESSION") == "DEFLATE" and a["valid_cog"] == (True, [], [])
    pixels = a.pop("pixels")
    np.testing.assert_array_equal(pixels, b.pop("pixels"))  # NaN where NaN
    assert np.isnan(a.pop("nodata")) and np.isnan(b.pop("nodata"))
    # both files describe their bands: the band labels and GDAL's statistics of the valid pixels
    for i, tags in enumerate(a["band_tags"]):
        valid = pixels[i][np.isfinite(pixels[i])]
        assert float(tags["STATISTICS_MINIMUM"]) == valid.min() and float(tags["STATISTICS_MAXIMUM"]) == valid.max()
        assert float(tags["STATISTICS_MEAN"]) == pytest.approx(valid.astype(np.float64).mean(), rel=1e-9)
        assert float(tags["STATISTICS_STDDEV"]) == pytest.approx(valid.astype(np.float64).std(), rel=1e-9)
        assert float(tags["STATISTICS_VALID_PERCENT"]) == pytest.approx(100 * valid.size / pixels[i].size, abs=1e-3)
    assert "load" not in a["descriptions"]
    assert a == b
    assert abs(len(fast) - len(normal)) < 0.01 * len(normal)


async def test_several_dates_fall_back_with_one_sentinel_hub_call(servicer, monkeypatch):
    plan = await acompile(graph(temporal=MONTH))  # several acquisitions: one file per date, zipped
    assert applies(plan)
    (fast, fast_type, _, _), (normal, normal_type, _, _), calls = await both_ways(servicer, monkeypatch, plan)
    assert calls == (1, 1)  # the fallback reuses the response
    assert fast_type == normal_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(fast)) as za, zipfile.ZipFile(io.BytesIO(normal)) as zb:
        assert za.namelist() == zb.namelist() and len(za.namelist()) > 1
        for name in za.namelist():
            np.testing.assert_array_equal(describe(za.read(name))["pixels"], describe(zb.read(name))["pixels"])


async def test_a_day_without_data_still_answers_no_data(servicer, monkeypatch):
    from backend_common.errors import OpenEOError
    from sentinelhub_emulator import world

    start = ACQ.date() + timedelta(days=1)
    assert not world.acquisition_dates("sentinel-2-l2a", start, start + timedelta(days=1))
    plan = await acompile(graph(temporal=[start.isoformat(), (start + timedelta(days=1)).isoformat()]))
    with pytest.raises(OpenEOError) as err:
        await execute(servicer, plan)
    assert err.value.code == "NoDataAvailable"


async def test_plans_that_do_not_qualify_cost_no_sentinel_hub_call(servicer, monkeypatch):
    counting = CountingSh(servicer.runner.sh)
    monkeypatch.setattr(servicer.runner, "sh", counting)
    for g in (graph(fmt="netCDF"), graph(options={"compression": "lzw"}), graph(ndvi=False, extra=True)):
        assert await servicer.runner.run_fast_path(await acompile(g), USER) == (None, None)

    async def no_udps(_name):
        return None

    # a tile service's format replaces the graph's GTiff: no pass-through
    plan = await compile_process(json.dumps(graph()), no_udps, purpose=compiler_pb2.PURPOSE_SYNC, output_format="JPEG")
    assert plan.output.format == "JPEG" and plan.strategy == compiler_pb2.RESULT_STRATEGY_CUBE
    assert await servicer.runner.run_fast_path(plan, USER) == (None, None)
    assert counting.calls == 0


@pytest.mark.parametrize("text", [
    "2024-06-05T10:03:12.000Z", "2024-06-05T10:03:12Z", "2024-06-05T10:03:12.999Z", "2024-06-05",
    "2024-06-05T10:03:12+02:00", "2024-06-05T23:30:00-01:00", "2024-06-05T10:03:12", "2024-06-05 10:03",
    "20240605T100312Z",
])
def test_date_tag_is_the_normal_paths_label(text):
    from executor_svc.encoding.raster import date_label
    from executor_svc.loading.cube import time_labels

    assert gtiff_passthrough.date_tag(text) == date_label(time_labels([text])[0])


def test_vrt_escapes_names_tags_and_source():
    import xml.etree.ElementTree as ET

    from affine import Affine

    from executor_svc.encoding.gtiff import passthrough_vrt

    vrt = passthrough_vrt("/vsimem/a&b<c>.tif", width=3, height=2, transform=Affine(10, 0, 5, 0, -10, 6), epsg=32633,
                          band_names=["nd<vi", 'B"2&'], tags={"datetime": '2024 & "x"', "k'e<y": "v>"})
    root = ET.fromstring(vrt)
    assert (root.get("rasterXSize"), root.get("rasterYSize")) == ("3", "2")
    assert root.find("SRS").text == "EPSG:32633"
    assert [float(v) for v in root.find("GeoTransform").text.split(",")] == [5, 10, 0, 6, 0, -10]
    assert [e.text for e in root.iter("Description")] == ["nd<vi", 'B"2&']
    assert {m.get("key"): m.text for m in root.iter("MDI")} == {"datetime": '2024 & "x"', "k'e<y": "v>"}
    assert {e.text for e in root.iter("SourceFilename")} == {"/vsimem/a&b<c>.tif"}
    assert [e.text for e in root.iter("SourceBand")] == ["1", "2"]
    assert passthrough_vrt("s", width=1, height=1, transform=Affine.identity(), epsg=None, band_names=["b"],
                           tags=None).count("<SRS") == 0
