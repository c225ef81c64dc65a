import json

import pytest

from backend_proto.v1 import compiler_pb2
from compiler_svc import compilation
from compiler_svc.problems import ProblemError
from tests.compiler.conftest import BBOX, FakeStore, as_json, load, reducer, save

HARNESS = """
(function(samples, scenes){
  var outputs = {default: {bands: setup().output.bands}};
  if (typeof updateOutput === 'function') updateOutput(outputs, {scenes: scenes});
  var r = evaluatePixel(samples, scenes, {}, {}, {});
  var md = {};
  updateOutputMetadata({orbits: scenes}, {}, md);
  return JSON.stringify({values: r.default, bands: outputs.default.bands, userdata: md.userData, setup: setup()});
})(%s, %s)
"""


def run(js, script, samples, scenes):
    js.eval(script)
    return json.loads(js.eval(HARNESS % (json.dumps(samples), json.dumps(scenes))))


async def compile_(graph, purpose=compiler_pb2.PURPOSE_BATCH, **kw):
    return await compilation.compile_process(as_json(graph), FakeStore(), purpose=purpose, **kw)


UNARY_ABS = {"process_graph": {"a": {"process_id": "absolute", "arguments": {"x": {"from_parameter": "x"}}, "result": True}}}

SCENES = [{"dateFrom": "2021-06-10T00:00:00Z", "dateTo": "2021-06-10T23:59:59Z"},
          {"dateFrom": "2021-06-05T00:00:00Z", "dateTo": "2021-06-05T23:59:59Z"}]


async def test_ndvi_plan_and_evalscript(js):
    g = {"l": load(), "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}}, "s": save("n")}
    plan = await compile_(g)
    (ld,) = plan.loads
    assert (ld.node_id, ld.result_node_id, list(ld.absorbed_node_ids)) == ("l", "n", ["l"])
    assert list(ld.band_labels) == [] and ld.temporal and ld.mosaicking == "ORBIT"
    assert ld.time_from == "2021-06-01T00:00:00Z" and ld.time_to == "2021-06-30T23:59:59.999999Z"
    # 0.1° x 0.1° at 48.15°N at 10 m
    assert 735 <= ld.width <= 750 and 1100 <= ld.height <= 1112
    assert plan.output.format == "GTiff" and plan.result_node_id == "s"
    # newest first from SH; output must be chronological as listed in userdata
    samples = [{"B04": 0.1, "B08": 0.5, "dataMask": 1}, {"B04": 0.2, "B08": 0.2, "dataMask": 0}]
    out = run(js, ld.evalscript, samples, SCENES)
    assert out["bands"] == 2
    assert out["userdata"] == {"dates": ["2021-06-05T00:00:00Z", "2021-06-10T00:00:00Z"], "bands": []}
    assert out["values"][0] is None and out["values"][1] == pytest.approx(0.4 / 0.6)
    assert out["setup"]["output"]["sampleType"] == "FLOAT32"
    assert out["setup"]["input"][0]["bands"] == ["B04", "B08", "dataMask"]
    assert plan.estimated_pixels == ld.width * ld.height * 2 * 6  # 30 days / 5-day revisit, 2 bands
    assert plan.estimated_processing_units > 0 and plan.estimated_bytes > 0


def scl_masked_median_graph():
    mask_cb = {"process_graph": {
        "scl": {"process_id": "array_element", "arguments": {"data": {"from_parameter": "data"}, "label": "SCL"}},
        "c3": {"process_id": "eq", "arguments": {"x": {"from_node": "scl"}, "y": 3}},
        "c8": {"process_id": "eq", "arguments": {"x": {"from_node": "scl"}, "y": 8}},
        "or": {"process_id": "or", "arguments": {"x": {"from_node": "c3"}, "y": {"from_node": "c8"}}, "result": True}}}
    return {
        "l": load(bands=["B04", "B08"]),
        "sl": load(bands=["SCL"]),
        "m": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "sl"}, "reducer": mask_cb, "dimension": "bands"}},
        "mk": {"process_id": "mask", "arguments": {"data": {"from_node": "l"}, "mask": {"from_node": "m"}}},
        "med": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "mk"}, "reducer": reducer("median"), "dimension": "t"}},
        "s": save("med"),
    }


async def test_scl_masked_temporal_median(js):
    plan = await compile_(scl_masked_median_graph())
    (ld,) = plan.loads
    assert ld.result_node_id == "med" and set(ld.absorbed_node_ids) == {"l", "sl", "m", "mk"}
    assert list(ld.band_labels) == ["B04", "B08"] and not ld.temporal and ld.mosaicking == "ORBIT"
    samples = [{"B04": 1, "B08": 10, "SCL": 4, "dataMask": 1}, {"B04": 2, "B08": 20, "SCL": 8, "dataMask": 1},
               {"B04": 3, "B08": 30, "SCL": 5, "dataMask": 1}, {"B04": 100, "B08": 100, "SCL": 4, "dataMask": 0}]
    scenes = [{"dateFrom": f"2021-06-0{i + 1}T00:00:00Z"} for i in range(4)]
    out = run(js, ld.evalscript, samples, scenes)
    assert out["values"] == [2, 20]  # median of 1 and 3 (cloudy and no-data samples dropped)
    assert out["userdata"] == {"dates": [], "bands": ["B04", "B08"]}
    assert out["setup"]["input"][0]["bands"] == ["B04", "B08", "SCL", "dataMask"]


async def test_mask_not_pushed_when_cube_is_used_elsewhere():
    g = scl_masked_median_graph()
    g["other"] = {"process_id": "apply", "arguments": {"data": {"from_node": "l"}, "process": UNARY_ABS}}
    g["s"]["arguments"]["data"] = {"from_node": "med"}
    g["m2"] = {"process_id": "merge_cubes", "arguments": {"cube1": {"from_node": "med"}, "cube2": {"from_node": "other"}}}
    g["s"] = save("m2")
    plan = await compile_(g)
    by_node = {ld.node_id: ld for ld in plan.loads}
    assert by_node["l"].result_node_id == "l" and list(by_node["l"].band_labels) == ["B04", "B08"]
    assert by_node["sl"].result_node_id == "m"


async def test_band_math_reduce_and_apply(js):
    cb = {"process_graph": {
        "r": {"process_id": "array_element", "arguments": {"data": {"from_parameter": "data"}, "index": 0}},
        "n": {"process_id": "array_element", "arguments": {"data": {"from_parameter": "data"}, "label": "B08"}},
        "d": {"process_id": "subtract", "arguments": {"x": {"from_node": "n"}, "y": {"from_node": "r"}}},
        "q": {"process_id": "divide", "arguments": {"x": {"from_node": "d"}, "y": 2}, "result": True}}}
    ap = {"process_graph": {"c": {"process_id": "clip", "arguments": {"x": {"from_parameter": "x"}, "min": 0, "max": 0.3}, "result": True}}}
    g = {"l": load(), "r": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "l"}, "reducer": cb, "dimension": "bands"}},
         "a": {"process_id": "apply", "arguments": {"data": {"from_node": "r"}, "process": ap}},
         "mx": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "a"}, "reducer": reducer("max"), "dimension": "t"}},
         "s": save("mx")}
    (ld,) = (await compile_(g)).loads
    assert ld.result_node_id == "mx"
    out = run(js, ld.evalscript, [{"B04": 0.1, "B08": 0.5, "dataMask": 1}, {"B04": 0.1, "B08": 1.5, "dataMask": 1}], SCENES)
    assert out["values"] == [pytest.approx(0.3)]  # (0.5-0.1)/2=0.2 and clip(0.7)=0.3 -> max 0.3


async def test_dem_plan_is_simple_and_timeless(js):
    plan = await compile_({"l": load(cid="COPERNICUS_30", bands=["DEM"], temporal=None), "s": save("l", fmt="netcdf")})
    (ld,) = plan.loads
    assert ld.mosaicking == "SIMPLE" and not ld.temporal and ld.sh_type == "dem"
    assert json.loads(ld.data_filter_json) == {"demInstance": "COPERNICUS_30"}
    assert ld.time_from == "" and plan.output.format == "netCDF"
    out = run(js, ld.evalscript, {"DEM": 312.5, "dataMask": 1}, [])
    assert out["values"] == [312.5] and out["userdata"] == {"dates": [], "bands": ["DEM"]}


async def test_s1_sar_backscatter_processing():
    sb = {"process_id": "sar_backscatter", "arguments": {"data": {"from_node": "l"}, "coefficient": "gamma0-terrain",
                                                         "elevation_model": "COPERNICUS_30", "local_incidence_angle": True}}
    plan = await compile_({"l": load(cid="SENTINEL1_GRD", bands=["VV", "VH"]), "b": sb, "s": save("b")})
    (ld,) = plan.loads
    assert ld.sh_type == "sentinel-1-grd" and ld.result_node_id == "b"
    assert json.loads(ld.processing_json) == {"backCoeff": "GAMMA0_TERRAIN", "orthorectify": True, "demInstance": "COPERNICUS_30"}
    assert list(ld.band_labels) == ["VV", "VH", "localIncidenceAngle"]
    bad = dict(sb, arguments=dict(sb["arguments"], coefficient="sigma0-terrain"))
    with pytest.raises(ProblemError) as info:
        await compile_({"l": load(cid="SENTINEL1_GRD", bands=["VV"]), "b": bad, "s": save("b")})
    assert (info.value.problem.node_id, info.value.problem.parameter) == ("b", "coefficient")


def orbit(process_id="eq", value="ascending", key="sat:orbit_state", swap=False):
    args = {"x": value, "y": {"from_parameter": "value"}} if swap else {"x": {"from_parameter": "value"}, "y": value}
    return {key: {"process_graph": {"c": {"process_id": process_id, "arguments": args, "result": True}}}}


@pytest.mark.parametrize("properties, direction", [(orbit(), "ASCENDING"), (orbit(value="Descending", swap=True), "DESCENDING")])
async def test_s1_orbit_direction_from_properties(properties, direction):
    (ld,) = (await compile_({"l": load(cid="SENTINEL1_GRD", bands=["VV"], properties=properties), "s": save("l")})).loads
    assert json.loads(ld.data_filter_json)["orbitDirection"] == direction


@pytest.mark.parametrize("properties, cid", [(orbit(process_id="neq"), "SENTINEL1_GRD"), (orbit(value="up"), "SENTINEL1_GRD"),
                                             (orbit(), "SENTINEL2_L2A")])
async def test_orbit_direction_filters_that_cannot_be_planned(properties, cid):
    with pytest.raises(ProblemError) as info:
        await compile_({"l": load(cid=cid, bands=["VV"] if cid == "SENTINEL1_GRD" else ["B04"], properties=properties),
                        "s": save("l")})
    assert (info.value.problem.code, info.value.problem.parameter) == ("ProcessParameterInvalid", "properties")


async def test_resample_spatial_to_web_mercator():
    rs = {"process_id": "resample_spatial", "arguments": {"data": {"from_node": "l"}, "projection": 3857, "resolution": 20, "method": "bilinear"}}
    (ld,) = (await compile_({"l": load(), "r": rs, "s": save("r")})).loads
    assert ld.bbox.epsg == 3857 and ld.result_node_id == "r"
    assert ld.width == round((ld.bbox.east - ld.bbox.west) / 20)
    assert 1_790_000 < ld.bbox.west < 1_793_000
    assert json.loads(ld.processing_json) == {"upsampling": "BILINEAR", "downsampling": "BILINEAR"}


async def test_tile_purpose_uses_tile_bounds():
    tile = compiler_pb2.TileBounds(west=1_800_000, south=6_100_000, east=1_810_000, north=6_110_000, epsg=3857, size=256)
    plan = await compile_({"l": load(extent=None), "s": save("l", fmt="png")}, purpose=compiler_pb2.PURPOSE_TILE, tile=tile)
    (ld,) = plan.loads
    assert (ld.bbox.west, ld.bbox.epsg, ld.width, ld.height) == (1_800_000, 3857, 256, 256)
    assert plan.output.format == "PNG"
    assert plan.single_image  # several dates make one image, never a ZIP (issue 20)
    for purpose in (compiler_pb2.PURPOSE_SYNC, compiler_pb2.PURPOSE_BATCH):
        assert not (await compile_({"l": load(), "s": save("l", fmt="png")}, purpose=purpose)).single_image


async def test_tile_plans_differ_only_in_the_load_bounds():
    """A graph on the tile parameters: the load's node is not in graph_json (its load carries the
    tile's bounds), so two tiles' plans differ only in their loads' bbox (what tiles_svc's plan templates rely on); a graph that
    uses the bounds elsewhere keeps them."""
    from tiles_svc.plan_templates import relocated

    extent = {k: {"from_parameter": f"spatial_extent_{k}"} for k in ("west", "south", "east", "north")}
    tiles = [compiler_pb2.TileBounds(west=w, south=6_100_000, east=w + 10_000, north=6_110_000, epsg=3857, size=256)
             for w in (1_800_000, 1_810_000)]
    graph = {"l": load(extent=extent), "s": save("l", fmt="png")}
    a, b = [await compile_(graph, purpose=compiler_pb2.PURPOSE_TILE, tile=t) for t in tiles]
    assert "l" not in json.loads(a.graph_json) and a.graph_json == b.graph_json
    assert relocated(a, (1_810_000, 6_100_000, 1_820_000, 6_110_000)) == b

    filtered = {"l": load(extent=None),
                "f": {"process_id": "filter_bbox", "arguments": {"data": {"from_node": "l"}, "extent": extent}},
                "s": save("f", fmt="png")}
    a, b = [await compile_(filtered, purpose=compiler_pb2.PURPOSE_TILE, tile=t) for t in tiles]
    assert relocated(a, (1_810_000, 6_100_000, 1_820_000, 6_110_000)) != b


async def test_sync_limit(monkeypatch):
    from compiler_svc.config import PlanningSettings

    with pytest.raises(ProblemError) as info:
        await compile_({"l": load(), "s": save("l")}, purpose=compiler_pb2.PURPOSE_SYNC,
                       settings=PlanningSettings(sync_max_pixels=1000))
    assert info.value.code == "ProcessGraphComplexity"
    await compile_({"l": load(), "s": save("l")}, purpose=compiler_pb2.PURPOSE_BATCH)


async def test_first_uses_simple_mosaic_and_cloud_filter():
    cc = {"eo:cloud_cover": {"process_graph": {"c": {"process_id": "lte", "arguments": {"x": {"from_parameter": "value"}, "y": 30}, "result": True}}}}
    g = {"l": load(properties=cc), "f": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "l"}, "reducer": reducer("first"), "dimension": "t"}}, "s": save("f")}
    (ld,) = (await compile_(g)).loads
    assert ld.mosaicking == "SIMPLE" and not ld.temporal
    df = json.loads(ld.data_filter_json)
    assert df["mosaickingOrder"] == "leastRecent" and df["maxCloudCoverage"] == 30


async def test_open_end_and_default_format():
    plan = await compile_({"l": load(temporal=["2024-01-01", None]), "r": {"process_id": "apply", "arguments": {"data": {"from_node": "l"}, "process": UNARY_ABS}, "result": True}})
    assert plan.output.format == "GTiff"
    assert plan.loads[0].time_to > "2024-06"


async def test_load_stac_becomes_load_result_of_the_url():
    url = "http://127.0.0.1:8080/jobs/j-1/results?expires=1&user=u&signature=s"
    stac = {"process_id": "load_stac", "arguments": {"url": url, "temporal_extent": ["2024-01-01", None], "bands": ["NDVI"]}}
    plan = await compile_({"st": stac, "a": {"process_id": "apply", "arguments": {"data": {"from_node": "st"}, "process": UNARY_ABS}},
                           "s": save("a")}, purpose=compiler_pb2.PURPOSE_SYNC)
    assert list(plan.loads) == []
    (source,) = plan.result_sources  # the URL resolved to its job: the executor never sees URLs
    assert (source.node_id, source.job_id, source.spatial_extent_json) == ("st", "j-1", "")
    assert (json.loads(source.temporal_extent_json), json.loads(source.bands_json)) == (["2024-01-01", None], ["NDVI"])
    assert list(plan.node_order) == ["a", "s"] and "st" not in json.loads(plan.graph_json)
    with_filter = dict(stac, arguments=dict(stac["arguments"], properties={"x": {"process_graph": {
        "c": {"process_id": "eq", "arguments": {"x": {"from_parameter": "value"}, "y": 1}, "result": True}}}}))
    with pytest.raises(ProblemError) as info:
        await compile_({"st": with_filter, "s": save("st")})
    assert (info.value.problem.node_id, info.value.problem.parameter) == ("st", "properties")
    with pytest.raises(ProblemError) as info:  # the URL must be http(s)
        await compile_({"st": dict(stac, arguments={"url": "file:///etc/passwd"}), "s": save("st")})
    assert info.value.problem.parameter == "url"


async def test_load_result_stays_in_the_graph_for_the_executor():
    lr = {"process_id": "load_result", "arguments": {"id": "j-1", "bands": ["NDVI"]}}
    apply_ = {"process_id": "apply", "arguments": {"data": {"from_node": "lr"}, "process": UNARY_ABS}}
    plan = await compile_({"lr": lr, "a": apply_, "s": save("a")}, purpose=compiler_pb2.PURPOSE_SYNC)
    assert list(plan.loads) == [] and plan.estimated_processing_units == 0
    graph = json.loads(plan.graph_json)
    assert [(s.node_id, s.job_id, json.loads(s.bands_json)) for s in plan.result_sources] == [("lr", "j-1", ["NDVI"])]
    assert list(graph) == ["a", "s"] and graph["a"]["process_id"] == "apply" and plan.result_node_id == "s"
    assert plan.strategy == compiler_pb2.RESULT_STRATEGY_CUBE
    # next to a Sentinel Hub load: only the load_collection is planned as a load, nothing is pushed
    # into its evalscript from the load_result side
    merged = {"lr": lr, "l": load(), "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}},
              "m": {"process_id": "merge_cubes", "arguments": {"cube1": {"from_node": "lr"}, "cube2": {"from_node": "n"}}},
              "s": save("m")}
    plan = await compile_(merged)
    (ld,) = plan.loads
    assert ld.node_id == "l" and "lr" not in ld.absorbed_node_ids
    assert [s.node_id for s in plan.result_sources] == ["lr"] and list(plan.node_order) == ["m", "s"]
