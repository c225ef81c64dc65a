import copy
import json

import pytest

from compiler_svc import compilation
from tests.compiler.conftest import BBOX, FakeStore, as_json, load, reducer, save


async def problems(graph_or_json, store=None, **kw):
    text = graph_or_json if isinstance(graph_or_json, str) else as_json(graph_or_json)
    return await compilation.validate_all(text, store or FakeStore(), **kw)


def codes(ps):
    return [(p.code, p.node_id, p.parameter) for p in ps]


async def test_valid_ndvi_graph_has_no_problems():
    g = {"l": load(), "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}}, "s": save("n")}
    assert await problems(g) == []


async def test_unparsable_and_missing_graph():
    assert (await problems("{nope"))[0].code == "ProcessGraphInvalid"
    assert (await problems(json.dumps({"title": "x"})))[0].code == "ProcessGraphMissing"


async def test_result_node_count_and_missing_from_node_and_cycle():
    g = {"l": load(), "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "l"}, "format": "GTiff"}}}
    assert any(p.code == "ProcessGraphInvalid" and "exactly one result" in p.message for p in await problems(g))
    g = {"l": load(), "s": save("ghost")}
    ps = await problems(g)
    assert ("ProcessGraphInvalid", "s", "data") in codes(ps) and "ghost" in ps[0].message
    g = {"a": {"process_id": "apply", "arguments": {"data": {"from_node": "b"}, "process": reducer("absolute")}},
         "b": {"process_id": "apply", "arguments": {"data": {"from_node": "a"}, "process": reducer("absolute")}, "result": True}}
    assert any("cycle" in p.message for p in await problems(g))


async def test_unknown_process_and_run_udf_unsupported():
    g = {"l": load(), "x": {"process_id": "frobnicate", "arguments": {"data": {"from_node": "l"}}, "result": True}}
    assert codes(await problems(g)) == [("ProcessUnsupported", "x", "")]
    g = {"l": load(), "x": {"process_id": "run_udf", "arguments": {"data": {"from_node": "l"}, "udf": "x", "runtime": "Python"}, "result": True}}
    assert codes(await problems(g))[0][:2] == ("ProcessUnsupported", "x")


async def test_required_and_unsupported_parameters():
    g = {"l": load(), "r": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "l"}, "reducer": reducer("mean"), "dimenson": "t"}, "result": True}}
    c = codes(await problems(g))
    assert ("ProcessParameterRequired", "r", "dimension") in c
    assert ("ProcessParameterUnsupported", "r", "dimenson") in c


async def test_schema_type_errors_name_node_and_argument():
    g = {"l": load(), "r": {"process_id": "resample_spatial", "arguments": {"data": {"from_node": "l"}, "resolution": "fine"}}, "s": save("r")}
    ps = await problems(g)
    assert codes(ps) == [("ProcessParameterInvalid", "r", "resolution")]
    assert "resample_spatial" in ps[0].message


@pytest.mark.parametrize("extent,needle", [
    ({"west": 16.2, "south": 48.1, "east": 16.1, "north": 48.2}, "west"),
    ({"west": 16.1, "south": 48.1, "east": 16.2, "north": 48.2, "crs": 999999}, "coordinate reference"),
    ({"type": "Point", "coordinates": [1, 2]}, "Point"),
])
async def test_spatial_extent_subtypes(extent, needle):
    ps = await problems({"l": load(extent=extent), "s": save("l")})
    assert ("ProcessParameterInvalid", "l", "spatial_extent") in codes(ps)
    assert any(needle in p.message for p in ps)


POINT = {"type": "Point", "coordinates": [16.15, 48.15]}
LINE = {"type": "LineString", "coordinates": [[16.11, 48.11], [16.19, 48.19]]}
SQUARE = {"type": "Polygon", "coordinates": [[[16.11, 48.11], [16.19, 48.11], [16.19, 48.19], [16.11, 48.11]]]}


@pytest.mark.parametrize("pid, parameter, value, ok", [
    ("aggregate_spatial", "geometries", POINT, True),
    ("aggregate_spatial", "geometries", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": g} for g in (POINT, LINE, SQUARE)]}, True),
    ("aggregate_spatial", "geometries", {"type": "MultiLineString", "coordinates": [LINE["coordinates"]]}, True),
    ("filter_spatial", "geometries", {"type": "Feature", "properties": {}, "geometry": POINT}, True),
    ("aggregate_spatial", "geometries", {"type": "Point", "coordinates": ["a", 1]}, False),
    ("aggregate_spatial", "geometries", {"type": "Circle", "coordinates": [1, 2]}, False),
    ("mask_polygon", "mask", POINT, False),
    ("mask_polygon", "mask", SQUARE, True),
])
async def test_which_geometry_types_each_geojson_argument_takes(pid, parameter, value, ok):
    """aggregate_spatial and filter_spatial take points and lines too; mask_polygon polygons only."""
    args = {"data": {"from_node": "l"}, parameter: value}
    if pid == "aggregate_spatial":
        args["reducer"] = reducer("mean")
    ps = await problems({"l": load(), "a": {"process_id": pid, "arguments": args}, "s": save("a", fmt="JSON")})
    assert (("ProcessParameterInvalid", "a", parameter) not in codes(ps)) == ok, ps


@pytest.mark.parametrize("mutate", [
    lambda g: g["n"]["arguments"].update(data={"from_node": [None, None]}),
    lambda g: g["n"]["arguments"].update(data={"from_node": {"a": 1}}),
    lambda g: g["n"]["arguments"].update(nir={"from_parameter": []}),
    lambda g: g["l"]["arguments"]["spatial_extent"].update(north=[None, None]),
    lambda g: g["l"]["arguments"]["spatial_extent"].update(east=None),
    lambda g: g["l"]["arguments"]["spatial_extent"].update(west={}),
    lambda g: g["l"]["arguments"]["spatial_extent"].pop("south"),
    lambda g: g["l"]["arguments"]["spatial_extent"].update(west=float("nan")),
])
async def test_malformed_references_and_extents_are_problems_not_crashes(mutate):
    """Cases a fuzzer sent (each made the compiler fail with an internal error)."""
    g = copy.deepcopy({"l": load(), "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}}, "s": save("n")})
    mutate(g)
    ps = await problems(g)
    assert ps and all(p.code in ("ProcessGraphInvalid", "ProcessParameterInvalid") for p in ps), ps
    with pytest.raises(Exception) as info:
        await compilation.compile_process(as_json(g), FakeStore())
    assert getattr(info.value, "status", None) == 400


@pytest.mark.parametrize("levels, refused", [(20, False), (32, False), (33, True), (60, True)])
async def test_callbacks_nested_too_deeply_are_refused(levels, refused):
    cb = {"process_graph": {"a": {"process_id": "absolute", "arguments": {"x": {"from_parameter": "x"}}, "result": True}}}
    for _ in range(levels - 1):
        cb = {"process_graph": {"a": {"process_id": "array_apply", "arguments": {"data": [1], "process": cb}, "result": True}}}
    ps = await problems({"r": {"process_id": "array_apply", "arguments": {"data": [1, 2], "process": cb}, "result": True}})
    assert [p.code for p in ps] == (["ProcessGraphComplexity"] if refused else [])


@pytest.mark.parametrize("interval", [["2021-07-01", "2021-06-01"], [None, None], ["yesterday", None]])
async def test_temporal_interval_checks(interval):
    ps = await problems({"l": load(temporal=interval), "s": save("l")})
    assert ("ProcessParameterInvalid", "l", "temporal_extent") in codes(ps)


async def test_collection_band_and_extent_checks():
    ps = await problems({"l": load(cid="NOPE"), "s": save("l")})
    assert codes(ps) == [("CollectionNotFound", "l", "id")] and ps[0].http_status == 404
    ps = await problems({"l": load(bands=["B04", "B99"]), "s": save("l")})
    assert codes(ps) == [("ProcessParameterInvalid", "l", "bands")] and "B99" in ps[0].message
    ps = await problems({"l": load(temporal=["2010-01-01", "2011-01-01"]), "s": save("l")})
    assert codes(ps) == [("ProcessParameterInvalid", "l", "temporal_extent")]
    ps = await problems({"l": load(extent={"west": 0, "south": -89, "east": 1, "north": -88}), "s": save("l")})
    assert codes(ps) == [("ProcessParameterInvalid", "l", "spatial_extent")]


async def test_common_band_names_accepted():
    assert await problems({"l": load(bands=["red", "nir"]), "s": save("l")}) == []


async def test_cube_flow_type_mismatch():
    g = {"l": load(), "n": {"process_id": "add", "arguments": {"x": 1, "y": 2}},
         "a": {"process_id": "apply", "arguments": {"data": {"from_node": "n"}, "process": reducer("absolute")}, "result": True}}
    assert ("ProcessParameterInvalid", "a", "data") in codes(await problems(g))


async def test_callback_is_validated_recursively_with_parameter_names():
    cb = {"process_graph": {"m": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "y"}, "y": 2}, "result": True}}}
    g = {"l": load(), "a": {"process_id": "apply", "arguments": {"data": {"from_node": "l"}, "process": cb}}, "s": save("a")}
    ps = await problems(g)
    assert codes(ps) == [("ProcessParameterInvalid", "a/m", "x")] and "'y'" in ps[0].message
    cb = {"process_graph": {"m": {"process_id": "mystery", "arguments": {}, "result": True}}}
    g["a"]["arguments"]["process"] = cb
    assert codes(await problems(g)) == [("ProcessUnsupported", "a/m", "")]


async def test_process_parameters_and_from_parameter():
    g = {"l": load(extent={"from_parameter": "bbox"}), "s": save("l")}
    ps = await problems(g)
    assert codes(ps) == [("ProcessParameterInvalid", "l", "spatial_extent")]
    doc = json.dumps({"process_graph": g, "parameters": [{"name": "bbox", "description": "", "schema": {"type": "object"}}]})
    assert await compilation.validate_all(doc, FakeStore()) == []
    with pytest.raises(Exception) as info:
        await compilation.compile_process(doc, FakeStore())
    assert info.value.code == "ProcessParameterRequired"
    plan = await compilation.compile_process(doc, FakeStore(), parameters_json=json.dumps({"bbox": BBOX}))
    assert plan.loads[0].bbox.west == 16.1


async def test_unknown_format():
    ps = await problems({"l": load(), "s": save("l", fmt="WebP")})
    assert codes(ps) == [("FormatUnsupported", "s", "format")]


async def test_all_problems_are_returned():
    g = {"l": load(cid="NOPE"), "x": {"process_id": "nope", "arguments": {}},
         "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "l"}}, "result": True}}
    c = {p[0] for p in codes(await problems(g))}
    assert {"CollectionNotFound", "ProcessUnsupported", "ProcessParameterRequired"} <= c


async def test_whole_planet_at_10m_refused_early():
    ps = await problems({"l": load(extent=None), "s": save("l")})
    assert codes(ps) == [("ProcessGraphComplexity", "l", "spatial_extent")]


async def test_validate_user_process():
    ok = {"id": "my_ndvi", "process_graph": {"l": load(), "s": save("l")}}
    assert await compilation.validate_user_process(json.dumps(ok), FakeStore()) == []
    bad = dict(ok, id="my-ndvi")
    assert [p.code for p in await compilation.validate_user_process(json.dumps(bad), FakeStore())] == ["ProcessGraphInvalid"]
    pre = dict(ok, id="ndvi")
    assert [p.code for p in await compilation.validate_user_process(json.dumps(pre), FakeStore())] == ["PredefinedProcessExists"]
    assert [p.code for p in await compilation.validate_user_process(json.dumps({"id": "x"}), FakeStore())] == ["ProcessGraphMissing"]
    dup = dict(ok, parameters=[{"name": "a", "schema": {}}, {"name": "a", "schema": {}}])
    assert "twice" in (await compilation.validate_user_process(json.dumps(dup), FakeStore()))[0].message
    no_process_id = dict(ok, process_graph={"l": load(), "s": {"arguments": {}, "result": True}})
    assert [p.code for p in await compilation.validate_user_process(json.dumps(no_process_id), FakeStore())] == [
        "ProcessGraphInvalid"]
    in_callback = dict(ok, process_graph={"l": load(), "s": {"process_id": "apply", "result": True, "arguments": {
        "data": {"from_node": "l"}, "process": {"process_graph": {"m": {"process_id": "absolute", "arguments": 5}}}}}})
    assert [p.node_id for p in await compilation.validate_user_process(json.dumps(in_callback), FakeStore())] == ["s/m"]


@pytest.mark.parametrize("graph", [
    # a parameter used but not declared
    {"a": {"process_id": "absolute", "arguments": {"x": {"from_parameter": "undeclared"}}, "result": True}},
    # a required argument not set yet
    {"l": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A"}}, "s": save("l")},
    # an unknown process, a reference to a node not written yet, no result node yet
    {"x": {"process_id": "not_written_yet", "arguments": {}, "result": True}},
    {"s": save("missing")},
    {"l": load()},
])
async def test_an_incomplete_user_process_is_stored_but_reported(graph):
    """Issue 20: drafts are stored; their problems are reported by validation and when run."""
    doc = {"id": "draft", "parameters": [{"name": "x", "description": "x", "schema": {}}], "process_graph": graph}
    assert await compilation.validate_user_process(json.dumps(doc), FakeStore()) == []
    assert await compilation.validate_all(json.dumps(doc), FakeStore(), purpose=2) != []


LOAD_RESULT_TIMES_TWO = {
    "l": {"process_id": "load_result", "arguments": {"id": "j-20240601-abc", "bands": ["NDVI"],
                                                     "spatial_extent": BBOX, "temporal_extent": ["2024-06-01", None]}},
    "a": {"process_id": "apply", "arguments": {"data": {"from_node": "l"}, "process": {"process_graph": {
        "m": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "x"}, "y": 2}, "result": True}}}}},
    "r": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "a"}, "dimension": "t", "reducer": reducer("mean")}},
    "s": save("r"),
}


async def test_load_result_is_a_raster_cube_source():
    assert await problems(LOAD_RESULT_TIMES_TWO) == []
    url = {"l": {"process_id": "load_result",
                 "arguments": {"id": "https://openeo.example/jobs/j-1/results/item.json?expires=1&user=u&signature=s"}},
           "s": save("l")}
    assert await problems(url) == []


@pytest.mark.parametrize("args, parameter", [
    ({"id": "no spaces allowed"}, "id"),
    ({"id": "j-1", "bands": []}, "bands"),
    ({"id": "j-1", "temporal_extent": ["2024-06-02", "2024-06-01"]}, "temporal_extent"),
    ({"id": "j-1", "spatial_extent": {"west": 14, "south": 46, "east": 13, "north": 47}}, "spatial_extent"),
])
async def test_load_result_argument_problems(args, parameter):
    ps = await problems({"l": {"process_id": "load_result", "arguments": args}, "s": save("l")})
    assert ("ProcessParameterInvalid", "l", parameter) in codes(ps)
