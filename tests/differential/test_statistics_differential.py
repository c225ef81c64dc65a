"""Differential test of the Statistical API path: every aggregate_spatial graph is compiled twice
(the default, where the compiler plans a Statistical API request, and `statistical_api=False`, the
raster path: a Process API load and the executor's aggregate_spatial), both plans run through the
real `PlanRunner` against the real emulator (a subprocess), and the vector cubes must be the same:
same dims, labels, geometries and NaN positions, values within float32 tolerance.

Tolerance: both paths reduce the same FLOAT32 pixel values (the statistics' sample grid is the
load's grid cut to each geometry); the raster path sums in float32 (xarray on the float32 cube),
the emulator in float64, so means and standard deviations agree to ~1e-6 relative, not exactly.
The polygons' edges are chosen off the pixel centres: the two paths differ for a centre exactly on
an edge (intersects vs contains)."""

from __future__ import annotations

import pytest

from compiler_svc.config import PlanningSettings
from executor_svc.encoding.vector import cube_to_json

from .stack import assert_same_cube, compile_twice, ref, run

MONTH = ["2024-06-01", "2024-07-01"]
# three fields in UTM 33N (EPSG:4326 in the graph, as users write them), one without any pixel
FIELDS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "a"}, "geometry": {"type": "Polygon", "coordinates": [[
        [15.00013, 45.00011], [15.00563, 45.00027], [15.00402, 45.00473], [15.00013, 45.00011]]]}},
    {"type": "Feature", "properties": {"name": "b"}, "geometry": {"type": "Polygon", "coordinates": [[
        [15.00611, 45.00213], [15.00907, 45.00213], [15.00907, 45.00581], [15.00611, 45.00581], [15.00611, 45.00213]]]}},
    {"type": "Feature", "properties": {"name": "tiny"}, "geometry": {"type": "Polygon", "coordinates": [[
        [15.003001, 45.006001], [15.003003, 45.006001], [15.003003, 45.006003], [15.003001, 45.006001]]]}},
]}


def reducer(pid, **args):
    return {"process_graph": {"r": {"process_id": pid, "arguments": {"data": {"from_parameter": "data"}, **args},
                                    "result": True}}}


def graph(red, *, ndvi=True, reduce_t=None, geometries=FIELDS):
    g = {"l": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A", "spatial_extent": None,
                                                              "temporal_extent": MONTH, "bands": ["B04", "B08"]}}}
    src = "l"
    if ndvi:
        g["n"] = {"process_id": "ndvi", "arguments": {"data": ref(src), "nir": "B08", "red": "B04"}}
        src = "n"
    if reduce_t:
        g["t"] = {"process_id": "reduce_dimension", "arguments": {"data": ref(src), "dimension": "t",
                                                                  "reducer": reducer(reduce_t)}}
        src = "t"
    g["a"] = {"process_id": "aggregate_spatial", "arguments": {"data": ref(src), "geometries": geometries,
                                                               "reducer": red if isinstance(red, dict) else reducer(red)}}
    g["s"] = {"process_id": "save_result", "arguments": {"data": ref("a"), "format": "JSON"}, "result": True}
    return g


CASES = {f"ndvi_{r}": graph(r) for r in ("mean", "min", "max", "sd", "variance", "count", "median", "sum")}
CASES["ndvi_quantile_90"] = graph(reducer("quantiles", probabilities=[0.9]))
CASES["bands_mean"] = graph("mean", ndvi=False)
CASES["bands_sd"] = graph("sd", ndvi=False)
CASES["ndvi_max_over_time_mean"] = graph("mean", reduce_t="max")
CASES["single_polygon_median"] = graph("median", geometries=FIELDS["features"][1]["geometry"])


@pytest.mark.parametrize("name", list(CASES))
async def test_statistical_api_equals_raster_path(name, runner):
    stats_plan, raster_plan = await compile_twice(CASES[name], {}, {"settings": PlanningSettings(statistical_api=False)})
    assert not stats_plan.loads and len(stats_plan.statistical_aggregations) == 1
    assert len(raster_plan.loads) == 1 and not raster_plan.statistical_aggregations

    got_outcome, want_outcome = await run(runner, stats_plan), await run(runner, raster_plan)
    got, want = got_outcome.value, want_outcome.value
    assert got_outcome.processing_units > 0
    assert got.attrs["crs"] == want.attrs["crs"] and got.attrs["properties"] == want.attrs["properties"]
    assert [g.wkt for g in got.attrs["geometries"]] == [g.wkt for g in want.attrs["geometries"]]
    assert_same_cube(got, want, rtol=1e-5, atol=1e-6)
    # the JSON users get has the same structure
    got_doc, want_doc = cube_to_json(got), cube_to_json(want)
    assert {k: v for k, v in got_doc.items() if k != "data"} == {k: v for k, v in want_doc.items() if k != "data"}
