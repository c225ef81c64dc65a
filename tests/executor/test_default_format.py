"""A graph without save_result: the backend's default format is GTiff for a raster cube and JSON
for any other result (a number, a text, a vector cube), through the real compiler and the
executor against the emulator."""

from __future__ import annotations

import json

import pytest
import rasterio

from backend_proto.v1 import executor_pb2
from executor_svc.runner import output_for

from .test_execute_emulator import emulator_url, servicer  # noqa: F401  (fixtures)
from .test_gtiff_passthrough import DAY, USER, UTM, acompile


def node(pid: str, result: bool = False, **arguments) -> dict:
    return {"process_id": pid, "arguments": arguments, **({"result": True} if result else {})}


LOAD = node("load_collection", id="SENTINEL2_L2A", spatial_extent=UTM, temporal_extent=DAY, bands=["B04", "B08"])
POLYGON = {"type": "Polygon", "coordinates": [[[15.0, 45.14], [15.02, 45.14], [15.02, 45.16], [15.0, 45.14]]]}


async def execute(servicer, graph: dict):  # noqa: F811
    plan = await acompile({"process_graph": graph})
    chunks = [c async for c in servicer.Execute(executor_pb2.ExecuteRequest(user=USER, plan=plan), None)]
    return plan, chunks[0].content_type, b"".join(c.data for c in chunks)


async def test_a_number_without_save_result_is_json(servicer):  # noqa: F811
    plan, media, body = await execute(servicer, {"a": node("add", True, x=1, y=2)})
    assert plan.output.defaulted and plan.output.format == "GTiff"
    assert media.startswith("application/json") and json.loads(body) == 3


async def test_a_date_without_save_result_is_json(servicer):  # noqa: F811
    _, media, body = await execute(servicer, {"a": node("date_shift", True, date="2020-01-31", value=1, unit="month")})
    assert media.startswith("application/json") and json.loads(body) == "2020-02-29"


async def test_a_vector_cube_without_save_result_is_json(servicer):  # noqa: F811
    graph = {"load": LOAD, "agg": node("aggregate_spatial", True, data={"from_node": "load"}, geometries=POLYGON,
                                       reducer={"process_graph": {"m": node("mean", True, data={"from_parameter": "data"})}})}
    _, media, body = await execute(servicer, graph)
    assert media.startswith("application/json")
    assert json.loads(body)  # the vector cube's JSON


async def test_a_raster_without_save_result_is_still_gtiff(servicer):  # noqa: F811
    graph = {"load": LOAD, "ndvi": node("ndvi", True, data={"from_node": "load"}, nir="B08", red="B04")}
    _, media, body = await execute(servicer, graph)
    assert media.startswith("image/tiff")
    with rasterio.MemoryFile(body) as mem, mem.open() as ds:
        assert ds.count == 1 and ds.crs.to_epsg() == 32633


async def test_an_explicit_save_result_of_a_number_is_refused_by_the_compiler():
    from compiler_svc.problems import ProblemError

    graph = {"a": node("add", x=1, y=2), "s": node("save_result", True, data={"from_node": "a"}, format="GTiff")}
    with pytest.raises(ProblemError) as err:
        await acompile({"process_graph": graph})
    assert err.value.problem.code == "ProcessParameterInvalid" and "save_result" in str(err.value)


def test_the_json_fallback_is_only_for_plans_without_a_chosen_format():
    from backend_proto.v1 import compiler_pb2
    from compiler_svc.output_formats import output_format

    defaulted = compiler_pb2.ExecutionPlan(output=output_format("GTiff", defaulted=True),
                                           output_if_not_raster=output_format("JSON"))
    chosen = compiler_pb2.ExecutionPlan(output=output_format("GTiff"))
    assert output_for(defaulted, 3)[0].format == "JSON"
    assert output_for(chosen, 3)[0].format == "GTiff"  # the encoder refuses it: FormatUnsuitable
    assert output_for(defaulted, 3)[0].media_type == "application/json"
