"""aggregate_spatial planned as Statistical API requests: when (and when not), the sample grids,
the evalscript and the Batch Statistical threshold."""

from __future__ import annotations

import json

import pytest

from backend_proto.v1 import compiler_pb2
from compiler_svc.config import PlanningSettings
from compiler_svc.planning.planner import plan
from compiler_svc.planning.statistics import statistical_reducer
from tests.compiler.conftest import load, reducer

POLY_A = {"type": "Polygon", "coordinates": [[[16.11, 48.11], [16.14, 48.11], [16.14, 48.13], [16.11, 48.13], [16.11, 48.11]]]}
POLY_B = {"type": "Polygon", "coordinates": [[[16.15, 48.15], [16.19, 48.16], [16.16, 48.19], [16.15, 48.15]]]}
FC = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a"}, "geometry": POLY_A},
                                                {"type": "Feature", "properties": {"name": "b"}, "geometry": POLY_B}]}


def graph(red="mean", geometries=FC, data="n", extra=None, fmt="JSON", **load_kw):
    g = {"l": load(**{"extent": None, **load_kw}),
         "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}},
         "a": {"process_id": "aggregate_spatial",
               "arguments": {"data": {"from_node": data}, "geometries": geometries,
                             "reducer": reducer(red) if isinstance(red, str) else red}},
         "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "a"}, "format": fmt}, "result": True}}
    g.update(extra or {})
    if data == "l":
        del g["n"]
    return {"process_graph": g}


def make(process, purpose=compiler_pb2.PURPOSE_SYNC, **settings):
    return plan(process, udps={}, parameter_values={}, purpose=purpose, settings=PlanningSettings(**settings))


def test_ndvi_mean_over_polygons_is_a_statistics_request_not_a_load():
    p = make(graph())
    assert not p.loads and len(p.statistical_aggregations) == 1
    agg = p.statistical_aggregations[0]
    assert agg.node_id == "a" and agg.load_node_id == "l" and agg.sh_type == "sentinel-2-l2a"
    assert agg.reducer == "mean" and agg.temporal and agg.interval == "P1D" and not agg.batch
    assert agg.time_from.startswith("2021-06-01T00:00:00") and agg.time_to.startswith("2021-06-30T23:59:59")
    assert list(agg.band_labels) == []  # ndvi drops the bands dimension: one output o0
    assert json.loads(agg.geometries_json) == FC
    assert "a" not in p.node_order and list(p.node_order) == ["s"]
    # each geometry's grid: whole pixels of the raster path's load grid, covering the polygon
    raster = make(graph(), statistical_api=False).loads[0]
    rx = (raster.bbox.east - raster.bbox.west) / raster.width
    ry = (raster.bbox.north - raster.bbox.south) / raster.height
    assert len(agg.geometries) == 2
    for g in agg.geometries:
        assert g.bbox.epsg == raster.bbox.epsg and g.geometry_json
        assert (g.bbox.east - g.bbox.west) / g.width == pytest.approx(rx)
        assert (g.bbox.north - g.bbox.south) / g.height == pytest.approx(ry)
        col, row = (g.bbox.west - raster.bbox.west) / rx, (raster.bbox.north - g.bbox.north) / ry
        assert col == pytest.approx(round(col), abs=1e-6) and row == pytest.approx(round(row), abs=1e-6)
        assert 1 < g.width < raster.width and 1 < g.height < raster.height
    assert 'id":"dataMask","bands":["o0"]' in agg.evalscript and "o0:[v[0]]" in agg.evalscript
    assert p.estimated_processing_units > 0


def test_bands_kept_give_one_output_per_band():
    p = make(graph(data="l"))
    agg = p.statistical_aggregations[0]
    assert list(agg.band_labels) == ["B04", "B08"]
    assert '"id":"o1"' in agg.evalscript and 'bands":["o0","o1"]' in agg.evalscript


@pytest.mark.parametrize("red,expected", [
    ("mean", ("mean", 0.0)), ("sd", ("sd", 0.0)), ("variance", ("variance", 0.0)), ("count", ("count", 0.0)),
    ("median", ("median", 0.0)), ("min", ("min", 0.0)), ("max", ("max", 0.0)), ("sum", ("sum", 0.0)),
    (reducer("quantiles", probabilities=[0.9]), ("quantiles", 0.9)),
    (reducer("quantiles", q=2), ("quantiles", 0.5)),
])
def test_supported_reducers(red, expected):
    agg = make(graph(red)).statistical_aggregations[0]
    assert (agg.reducer, agg.probability) == pytest.approx(expected)


@pytest.mark.parametrize("red", [
    "first", "product", reducer("mean", ignore_nodata=False), reducer("quantiles", probabilities=[0.1, 0.9]),
    reducer("count", condition=True),
    {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}},
                       "r": {"process_id": "multiply", "arguments": {"x": {"from_node": "m"}, "y": 2}, "result": True}}},
])
def test_other_reducers_keep_the_raster_path(red):
    p = make(graph(red))
    assert not p.statistical_aggregations and [l.node_id for l in p.loads] == ["l"]
    assert "a" in p.node_order


def test_points_shared_loads_setting_and_tiles_keep_the_raster_path():
    point = {"type": "Point", "coordinates": [16.12, 48.12]}
    assert not make(graph(geometries=point)).statistical_aggregations
    assert not make(graph(geometries={"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": POLY_A},
        {"type": "Feature", "properties": {}, "geometry": point}]})).statistical_aggregations
    # the load's cube is used by another node too
    shared = graph(extent={"west": 16.1, "south": 48.1, "east": 16.2, "north": 48.2}, extra={"s2": {"process_id": "save_result", "arguments": {"data": {"from_node": "n"}, "format": "GTiff"}}})
    assert not make(shared).statistical_aggregations
    assert not make(graph(), statistical_api=False).statistical_aggregations
    # a time range that does not start at midnight: the intervals would not be the dates
    assert not make(graph(temporal=("2021-06-01T12:00:00Z", "2021-07-01"))).statistical_aggregations


def test_temporal_reduction_is_one_interval_over_the_range():
    g = graph(data="r", extra={"r": {"process_id": "reduce_dimension", "arguments": {
        "data": {"from_node": "n"}, "dimension": "t", "reducer": reducer("max")}}})
    agg = make(g).statistical_aggregations[0]
    assert not agg.temporal and agg.interval == "P30D"
    assert '"mosaicking":"ORBIT"' in agg.evalscript and "MAX(" in agg.evalscript


def test_geometry_without_pixel_centre_is_planned_without_request():
    tiny = {"type": "Polygon", "coordinates": [[[16.12, 48.12], [16.12001, 48.12], [16.12001, 48.12001], [16.12, 48.12]]]}
    agg = make(graph(geometries={"type": "GeometryCollection", "geometries": [POLY_A, tiny]})).statistical_aggregations[0]
    assert agg.geometries[0].geometry_json and not agg.geometries[1].geometry_json


def test_batch_statistical_for_jobs_with_many_geometries():
    assert not make(graph(), compiler_pb2.PURPOSE_BATCH, batch_statistics_min_geometries=3).statistical_aggregations[0].batch
    assert make(graph(), compiler_pb2.PURPOSE_BATCH, batch_statistics_min_geometries=2).statistical_aggregations[0].batch
    assert not make(graph(), compiler_pb2.PURPOSE_SYNC, batch_statistics_min_geometries=2).statistical_aggregations[0].batch


def test_statistical_reducer_reads_only_plain_reducers():
    node = {"arguments": {"reducer": reducer("mean")}}
    assert statistical_reducer(node).process_id == "mean"
    assert statistical_reducer({"arguments": {"reducer": reducer("mean", context=1)}}) is None


def test_estimates_and_sync_limit_count_the_sample_grids_not_the_load():
    stats_plan, raster_plan = make(graph()), make(graph(), statistical_api=False)
    assert 0 < stats_plan.estimated_pixels < raster_plan.estimated_pixels
    assert 0 < stats_plan.estimated_processing_units < raster_plan.estimated_processing_units
    # fields far apart: the load's grid spans both, the statistics only the fields
    far = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": POLY_A},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
            [16.61, 48.61], [16.64, 48.61], [16.64, 48.63], [16.61, 48.63], [16.61, 48.61]]]}}]}
    limit = dict(sync_max_pixels=stats_plan.estimated_pixels * 4)
    assert make(graph(geometries=far), **limit).statistical_aggregations
    from compiler_svc.problems import ProblemError

    with pytest.raises(ProblemError, match="too complex for synchronous"):
        make(graph(geometries=far), statistical_api=False, **limit)
