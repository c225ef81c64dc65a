"""The image fast path: the compiler marks a single-load PNG plan for direct image output
(`SentinelHubLoad.image_evalscript`) and the executor streams Sentinel Hub's PNG through; its
pixels must equal those of the normal path (FLOAT32 fetch, xarray, PNG encoder) within ±1."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import date, timedelta

import mercantile
import numpy as np
import pytest
from PIL import Image

from backend_proto.v1 import common_pb2, compiler_pb2, executor_pb2
from compiler_svc.compilation import compile_process
from sentinelhub_emulator import world
from tests.e2e.worldcheck import first_acquisition

from .test_execute_emulator import emulator_url, servicer  # noqa: F401  (fixtures)

ACQ = first_acquisition(date(2024, 8, 1))
DAY = [ACQ.date().isoformat(), (ACQ.date() + timedelta(days=1)).isoformat()]
LSR = {"process_graph": {"lsr": {"process_id": "linear_scale_range", "arguments": {
    "x": {"from_parameter": "x"}, "inputMin": 0, "inputMax": 0.25, "outputMin": 0, "outputMax": 255}, "result": True}}}


def graph(bands=("B04",), fmt="PNG", temporal=DAY, options=None, reduce_t=False, extra=False) -> dict:
    g = {"load": {"process_id": "load_collection", "arguments": {
        "id": "SENTINEL2_L2A", "spatial_extent": None, "temporal_extent": temporal, "bands": list(bands)}}}
    src = "load"
    if reduce_t:
        g["red"] = {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": src}, "dimension": "t", "reducer": {
            "process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}}}
        src = "red"
    g["apply"] = {"process_id": "apply", "arguments": {"data": {"from_node": src}, "process": LSR}}
    src = "apply"
    if extra:  # not pushed down: the executor has work left
        g["rename"] = {"process_id": "rename_labels", "arguments": {"data": {"from_node": src}, "dimension": "bands",
                                                                    "target": [f"x{i}" for i in range(len(bands))]}}
        src = "rename"
    save_args = {"data": {"from_node": src}, "format": fmt}
    if options:
        save_args["options"] = options
    g["save"] = {"process_id": "save_result", "arguments": save_args, "result": True}
    return {"process_graph": g}


def tile_bounds(zoom=14) -> compiler_pb2.TileBounds:
    t = mercantile.tile(14.01, 46.01, zoom)
    b = mercantile.xy_bounds(t)
    return compiler_pb2.TileBounds(west=b.left, south=b.bottom, east=b.right, north=b.top, epsg=3857, size=256)


async def acompile_tile(g: dict, zoom=14, output_format: str = "") -> compiler_pb2.ExecutionPlan:
    async def no_udps(_name):
        return None

    return await compile_process(json.dumps(g), no_udps, purpose=compiler_pb2.PURPOSE_TILE, tile=tile_bounds(zoom),
                                 output_format=output_format)


async def fast_file(servicer, plan):
    """The fast path's file, or None when the cube strategy has to answer."""
    made, _ = await servicer.runner.run_fast_path(plan, common_pb2.User(user_id="u"))
    return made


def compile_tile(g: dict, zoom=14) -> compiler_pb2.ExecutionPlan:
    return asyncio.run(acompile_tile(g, zoom))


def test_plan_marked_for_single_load_png():
    plan = compile_tile(graph())
    load = plan.loads[0]
    assert load.result_node_id == "apply" and load.image_format == "PNG"
    assert plan.strategy == compiler_pb2.RESULT_STRATEGY_IMAGE and list(plan.node_order) == ["save"]
    assert '"sampleType":"UINT8"' in load.image_evalscript and '"bands":2' in load.image_evalscript
    rgb = compile_tile(graph(bands=("B04", "B03", "B02")))
    assert rgb.loads[0].image_format == "PNG" and '"bands":4' in rgb.loads[0].image_evalscript


@pytest.mark.parametrize("kwargs", [
    {"fmt": "GTiff"},
    {"fmt": "JPEG"},
    {"bands": ("B04", "B03")},
    {"options": {"scale_min": 0, "scale_max": 255}},
    {"extra": True},
])
def test_plan_not_marked(kwargs):
    plan = compile_tile(graph(**kwargs))
    load = plan.loads[0]
    assert load.image_evalscript == "" and load.image_format == ""
    assert plan.strategy != compiler_pb2.RESULT_STRATEGY_IMAGE


async def _execute(servicer, plan) -> tuple[bytes, str]:
    parts, content_type = [], ""
    async for chunk in servicer.Execute(executor_pb2.ExecuteRequest(user=common_pb2.User(user_id="u"), plan=plan), None):
        content_type = content_type or chunk.content_type
        parts.append(chunk.data)
    return b"".join(parts), content_type


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data))).astype(int)


@pytest.mark.parametrize("kwargs", [{}, {"bands": ("B04", "B03", "B02")}, {"reduce_t": True}])
async def test_fast_path_matches_normal_path(servicer, kwargs):
    plan = await acompile_tile(graph(**kwargs))
    assert plan.loads[0].image_evalscript
    assert await fast_file(servicer, plan) is not None  # fast path taken
    fast, fast_type = await _execute(servicer, plan)
    normal_plan = compiler_pb2.ExecutionPlan()
    normal_plan.CopyFrom(plan)
    normal_plan.strategy = compiler_pb2.RESULT_STRATEGY_CUBE
    assert await fast_file(servicer, normal_plan) is None
    normal, normal_type = await _execute(servicer, normal_plan)
    assert fast_type == normal_type == "image/png"
    a, b = _pixels(fast), _pixels(normal)
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= 1
    alpha = a[..., -1]
    assert (alpha == 255).mean() > 0.5  # really data, not an empty tile


async def test_format_override_and_no_date_fall_back(servicer):
    plan = await acompile_tile(graph(), output_format="JPEG")  # as tiles_svc asks for a JPEG service
    assert plan.output.format == "JPEG" and plan.strategy == compiler_pb2.RESULT_STRATEGY_CUBE
    assert await fast_file(servicer, plan) is None
    png = await acompile_tile(graph(fmt="GTiff"), output_format="PNG")  # a GTiff graph served as PNG tiles
    assert png.strategy == compiler_pb2.RESULT_STRATEGY_IMAGE and png.output.options_json == "{}"
    # a day without acquisition: the fast path declines and the normal path answers as before
    start = ACQ.date() + timedelta(days=1)
    assert not world.acquisition_dates("sentinel-2-l2a", start, start + timedelta(days=1))
    empty = await acompile_tile(graph(temporal=[start.isoformat(), (start + timedelta(days=1)).isoformat()]))
    assert empty.loads[0].image_evalscript
    assert await fast_file(servicer, empty) is None
