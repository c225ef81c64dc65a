"""Process API request of a load and decoding a packed response into a cube."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend_common.errors import OpenEOError
from backend_proto.v1 import compiler_pb2
from executor_svc.loading import cube_from_raster, process_request


def make_load(**kw):
    defaults = dict(
        node_id="load1",
        collection_id="SENTINEL2_L2A",
        sh_type="sentinel-2-l2a",
        bbox=compiler_pb2.BoundingBox(west=500000, south=5199000, east=500400, north=5199300, epsg=32633),
        width=40,
        height=30,
        time_from="2024-05-01T00:00:00Z",
        time_to="2024-05-31T23:59:59Z",
        mosaicking="ORBIT",
        evalscript="//VERSION=3\n",
        band_labels=["B04", "B08"],
        temporal=True,
        result_node_id="load1",
    )
    defaults.update(kw)
    return compiler_pb2.SentinelHubLoad(**defaults)


def test_process_request_shape():
    load = make_load(
        geometry_json=json.dumps({"type": "Polygon", "coordinates": [[[500000, 5199000], [500400, 5199000], [500400, 5199300], [500000, 5199000]]]}),
        data_filter_json=json.dumps({"maxCloudCoverage": 20}),
        processing_json=json.dumps({"upsampling": "BILINEAR"}),
    )
    req = process_request(load)
    assert req["input"]["bounds"]["bbox"] == [500000, 5199000, 500400, 5199300]
    assert req["input"]["bounds"]["properties"]["crs"].endswith("/EPSG/0/32633")
    assert req["input"]["bounds"]["geometry"]["type"] == "Polygon"
    item = req["input"]["data"][0]
    assert item["type"] == "sentinel-2-l2a"
    assert item["dataFilter"]["timeRange"] == {"from": "2024-05-01T00:00:00Z", "to": "2024-05-31T23:59:59Z"}
    assert item["dataFilter"]["maxCloudCoverage"] == 20
    assert item["processing"] == {"upsampling": "BILINEAR"}
    assert req["output"]["width"] == 40 and req["output"]["height"] == 30
    assert [r["identifier"] for r in req["output"]["responses"]] == ["default", "userdata"]
    assert req["output"]["responses"][0]["format"]["type"] == "image/tiff"
    wgs = process_request(make_load(bbox=compiler_pb2.BoundingBox(west=1, south=2, east=3, north=4, epsg=4326)))
    assert wgs["input"]["bounds"]["properties"]["crs"].endswith("CRS84")


def test_decode_time_major_packing():
    load = make_load()
    dates = ["2024-05-11T10:00:00Z", "2024-05-01T10:00:00Z", "2024-05-21T10:00:00Z"]  # order as listed
    h, w = 30, 40
    packed = np.zeros((6, h, w), dtype=np.float32)
    for d in range(3):
        for b in range(2):
            packed[d * 2 + b] = 10 * d + b
    packed[5, 0, 0] = np.nan
    cube = cube_from_raster(packed, {"dates": dates, "bands": ["B04", "B08"]}, load)
    assert cube.dims == ("t", "bands", "y", "x")
    assert cube.shape == (3, 2, 30, 40)
    assert [str(t)[:19] for t in cube.t.values] == ["2024-05-11T10:00:00", "2024-05-01T10:00:00", "2024-05-21T10:00:00"]
    assert float(cube.sel(bands="B08").isel(t=1, y=3, x=3)) == 11
    assert float(cube.sel(bands="B04").isel(t=2, y=3, x=3)) == 20
    assert np.isnan(float(cube.isel(t=2, bands=1, y=0, x=0)))
    assert cube.attrs["crs"] == 32633
    # pixel centres: 10 m pixels from the bbox edges
    assert float(cube.x[0]) == 500005.0 and float(cube.x[-1]) == 500395.0
    assert float(cube.y[0]) == 5199295.0 and float(cube.y[-1]) == 5199005.0
    assert cube.dtype == np.float32


def test_decode_without_time_or_bands():
    load = make_load(temporal=False, band_labels=[])
    cube = cube_from_raster(np.ones((1, 30, 40), np.float32), {"dates": [], "bands": []}, load)
    assert cube.dims == ("y", "x")
    load = make_load(temporal=False)
    cube = cube_from_raster(np.ones((2, 30, 40), np.float32), json.dumps({"dates": [], "bands": ["B04", "B08"]}), load)
    assert cube.dims == ("bands", "y", "x") and list(cube.bands.values) == ["B04", "B08"]
    load = make_load(band_labels=[])
    cube = cube_from_raster(np.ones((2, 30, 40), np.float32), {"dates": ["2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"]}, load)
    assert cube.dims == ("t", "y", "x") and cube.sizes["t"] == 2


def test_decode_nodata_value_becomes_nan_and_band_mismatch_is_an_error():
    load = make_load(temporal=False, band_labels=["B04"])
    data = np.full((1, 30, 40), 7, np.float32)
    data[0, 1, 1] = -9999
    cube = cube_from_raster(data, {"dates": [], "bands": ["B04"]}, load, nodata=-9999)
    assert np.isnan(float(cube.isel(bands=0, y=1, x=1))) and float(cube.isel(bands=0, y=0, x=0)) == 7
    with pytest.raises(OpenEOError) as info:
        cube_from_raster(np.ones((3, 30, 40), np.float32), {"dates": ["2024-05-01T00:00:00Z"], "bands": ["B04", "B08"]}, make_load())
    assert info.value.code == "SentinelHubError"
