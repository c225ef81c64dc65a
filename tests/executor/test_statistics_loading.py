"""The executor's Statistical API requests and their reading (pure parts and a scripted client):
the request body, reducer values from statistics, failed intervals asked again, the vector cube."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from backend_common.errors import OpenEOError
from backend_proto.v1 import compiler_pb2
from executor_svc.loading.statistics import fetch_statistics, percentile_key, reduced_value, statistical_request

POLY = {"type": "Polygon", "coordinates": [[[500000, 5000000], [500100, 5000000], [500100, 5000100], [500000, 5000000]]]}
GEOJSON = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "a"}, "geometry": {"type": "Polygon", "coordinates": [[[15, 45], [15.1, 45], [15.1, 45.1], [15, 45]]]}},
    {"type": "Feature", "properties": {"name": "b"}, "geometry": {"type": "Polygon", "coordinates": [[[16, 45], [16.1, 45], [16.1, 45.1], [16, 45]]]}},
]}


def aggregation(reducer="mean", probability=0.0, labels=(), temporal=True) -> compiler_pb2.StatisticalAggregation:
    agg = compiler_pb2.StatisticalAggregation(
        node_id="a", sh_type="sentinel-2-l2a", time_from="2024-06-01T00:00:00Z", time_to="2024-06-10T23:59:59.999999Z",
        interval="P1D", temporal=temporal, evalscript="//VERSION=3 ...", reducer=reducer, probability=probability,
        data_filter_json=json.dumps({"timeRange": {"from": "x", "to": "y"}, "mosaickingOrder": "leastRecent"}),
        processing_json="{}", band_labels=list(labels), geometries_json=json.dumps(GEOJSON))
    for geometry_json in (json.dumps(POLY), ""):  # the second geometry has no pixel
        g = agg.geometries.add(width=10, height=10, geometry_json=geometry_json)
        g.bbox.CopyFrom(compiler_pb2.BoundingBox(west=500000, south=5000000, east=500100, north=5000100, epsg=32633))
    return agg


def stats(mean=0.5, sd=0.1, n=10, total=100, **extra):
    return {"min": 0.1, "max": 0.9, "mean": mean, "stDev": sd, "sampleCount": total, "noDataCount": total - n, **extra}


def test_request_body_is_the_grid_geometry_and_interval():
    agg = aggregation("quantiles", 0.9)
    body = statistical_request(agg, agg.geometries[0])
    assert body["input"]["bounds"]["bbox"] == [500000, 5000000, 500100, 5000100]
    assert body["input"]["bounds"]["properties"]["crs"].endswith("/32633")
    assert body["input"]["data"][0]["dataFilter"] == {"mosaickingOrder": "leastRecent"}  # the aggregation's timeRange rules
    assert body["aggregation"]["aggregationInterval"] == {"of": "P1D", "lastIntervalBehavior": "SHORTEN"}
    assert (body["aggregation"]["width"], body["aggregation"]["height"]) == (10, 10)
    assert body["calculations"]["default"]["statistics"]["default"]["percentiles"]["k"] == [90.0]
    assert "calculations" not in statistical_request(aggregation("mean"), agg.geometries[0])
    assert percentile_key(aggregation("median")) == "50.0" and percentile_key(aggregation("quantiles", 0.333)) == "33.3"


@pytest.mark.parametrize("reducer,value", [
    ("mean", 0.5), ("min", 0.1), ("max", 0.9), ("sum", 5.0), ("count", 10.0), ("sd", 0.1), ("variance", 0.01)])
def test_reducer_values(reducer, value):
    assert reduced_value(stats(), aggregation(reducer)) == pytest.approx(value)


def test_no_valid_pixel_and_single_pixel():
    empty = {"min": "NaN", "max": "NaN", "mean": "NaN", "stDev": "NaN", "sampleCount": 100, "noDataCount": 100}
    assert reduced_value(empty, aggregation("count")) == 0.0
    assert math.isnan(reduced_value(empty, aggregation("mean")))
    assert math.isnan(reduced_value(stats(n=1, sd=0.0), aggregation("sd")))  # openEO's sd of one value: NaN
    assert reduced_value(stats(percentiles={"50.0": 0.42}), aggregation("median")) == 0.42


class ScriptedClient:
    """Answers Statistical API calls from a list; records the bodies."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.bodies = []
        self.config = type("C", (), {"deployment": None})()

    async def statistics(self, body, *, token=None, deployment=None):
        self.bodies.append(body)
        return self.answers.pop(0), 0.25


def item(day, value=None, error=None):
    interval = {"from": f"2024-06-0{day}T00:00:00Z", "to": f"2024-06-0{day + 1}T00:00:00Z"}
    if error:
        return {"interval": interval, "error": {"type": error}}
    return {"interval": interval, "outputs": {"o0": {"bands": {"B0": {"stats": stats(mean=value)}}}}}


async def test_failed_interval_is_asked_again_alone_and_the_cube_has_every_date():
    client = ScriptedClient([{"data": [item(1, 0.3), item(3, error="EXECUTION_ERROR")], "status": "PARTIAL"},
                             {"data": [item(3, 0.7)], "status": "OK"}])
    result = await fetch_statistics(aggregation(), client, token=None)
    assert len(client.bodies) == 2 and result.requests == 2 and result.processing_units == 0.5
    assert client.bodies[1]["aggregation"]["timeRange"] == {"from": "2024-06-03T00:00:00Z", "to": "2024-06-04T00:00:00Z"}
    cube = result.cube
    assert cube.dims == ("geometry", "t")
    assert [str(t)[:10] for t in cube.coords["t"].values] == ["2024-06-01", "2024-06-03"]
    np.testing.assert_allclose(cube.values[0], [0.3, 0.7])
    assert np.isnan(cube.values[1]).all()  # no pixel: NaN, no request
    assert cube.attrs["properties"] == [{"name": "a"}, {"name": "b"}] and len(cube.attrs["geometries"]) == 2


async def test_bad_request_interval_or_a_second_failure_is_a_sentinel_hub_error():
    with pytest.raises(OpenEOError, match="BAD_REQUEST"):
        await fetch_statistics(aggregation(), ScriptedClient([{"data": [item(1, error="BAD_REQUEST")]}]), token=None)
    client = ScriptedClient([{"data": [item(1, error="TIMEOUT")]}, {"data": [item(1, error="TIMEOUT")]}])
    with pytest.raises(OpenEOError, match="failed twice"):
        await fetch_statistics(aggregation(), client, token=None)


async def test_bands_kept_and_no_time_dimension():
    answer = {"data": [{"interval": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-11T00:00:00Z"},
                        "outputs": {"o0": {"bands": {"B0": {"stats": stats(mean=0.1)}}},
                                    "o1": {"bands": {"B0": {"stats": stats(mean=0.2)}}}}}], "status": "OK"}
    result = await fetch_statistics(aggregation(labels=("B04", "B08"), temporal=False), ScriptedClient([answer]), token=None)
    assert result.cube.dims == ("geometry", "bands") and list(result.cube.coords["bands"].values) == ["B04", "B08"]
    np.testing.assert_allclose(result.cube.values[0], [0.1, 0.2])
