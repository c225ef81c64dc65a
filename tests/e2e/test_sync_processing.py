"""Issue 5 'done when': real graphs through gateway → compiler → executor → emulator with the
openeo client; every raster checked against numpy recomputed from the synthetic world."""

from __future__ import annotations

import json
import warnings
from datetime import date, timedelta

import numpy as np
import openeo
import pytest
import requests
import shapely.geometry
from openeo.api.process import Parameter
from openeo.rest import OpenEoApiError

from sentinelhub_emulator import world
from tests.e2e.worldcheck import S2, bands_at, day_interval, first_acquisition, ndvi, pixel_lonlat, read_raster

# Edges off the 0.01° grid of the world's cloud cells, so that no pixel centre lies exactly on a
# cell boundary (where float rounding, not the backend, would decide the cloud flag).
BBOX = {"west": 14.0013, "south": 46.0017, "east": 14.0213, "north": 46.0167}
ACQ = first_acquisition(date(2024, 6, 1))


def test_ndvi_single_date(connection, tmp_path):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ), bands=["B04", "B08"])
    out = tmp_path / "ndvi.tif"
    cube.ndvi(nir="B08", red="B04").download(out, format="GTiff")
    data, meta = read_raster(out)
    assert data.shape[0] == 1 and meta["width"] > 50 and meta["height"] > 50
    lon, lat = pixel_lonlat(meta)
    b = bands_at(ACQ, lon, lat, "B04", "B08")
    np.testing.assert_allclose(data[0], ndvi(b["B08"], b["B04"]), atol=1e-5)


def test_load_collection_without_bands_loads_every_band(connection, tmp_path):
    """No `bands`: every band the collection lists, the angle and s2cloudless bands included."""
    listed = connection.describe_collection("SENTINEL2_L2A")["cube:dimensions"]["bands"]["values"]
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ))
    out = tmp_path / "all.tif"
    cube.download(out, format="GTiff")
    data, meta = read_raster(out)
    assert list(meta["descriptions"]) == listed and {"CLP", "CLM", "sunZenithAngles"} <= set(listed)
    lon, lat = pixel_lonlat(meta)
    for name in ("B04", "SCL", "CLM", "CLP", "sunZenithAngles", "viewAzimuthMean"):
        expected = bands_at(ACQ, lon, lat, name)[name]
        np.testing.assert_allclose(data[listed.index(name)], expected, atol=1e-4, err_msg=name)


def test_openeo_costs_header(stack, connection):
    graph = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ), bands=["B04"]).save_result("GTiff")
    resp = requests.post(
        stack.gateway_url + "/result",
        json={"process": {"process_graph": graph.flat_graph()}},
        headers={"Authorization": f"Bearer {connection.auth.bearer}"},
        timeout=120,
    )
    assert resp.status_code == 200, resp.text
    assert float(resp.headers["OpenEO-Costs"]) > 0
    assert resp.headers["Content-Type"].startswith("image/tiff")


def test_cloud_masked_median_composite(connection, tmp_path):
    start, end = date(2024, 6, 1), date(2024, 7, 1)
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=[start.isoformat(), end.isoformat()], bands=["B04", "B08", "SCL"])
    scl = cube.band("SCL")
    cloud = (scl == 3) | (scl == 8) | (scl == 9) | (scl == 10)
    composite = cube.filter_bands(["B04", "B08"]).mask(cloud).ndvi(nir="B08", red="B04").reduce_dimension(dimension="t", reducer="median")
    out = tmp_path / "composite.tif"
    composite.download(out, format="GTiff")
    data, meta = read_raster(out)
    lon, lat = pixel_lonlat(meta)
    layers = []
    for d in world.acquisition_dates(S2, start, end - timedelta(microseconds=1)):
        b = bands_at(d, lon, lat, "B04", "B08", "SCL")
        layer = ndvi(b["B08"], b["B04"])
        layer[np.isin(b["SCL"], [3, 8, 9, 10])] = np.nan
        layers.append(layer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels (cloudy every day)
        expected = np.nanmedian(np.stack(layers), axis=0)
    np.testing.assert_allclose(data[0], expected, atol=1e-5, equal_nan=True)


def test_band_math_with_apply(connection, tmp_path):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ), bands=["B04"])
    out = tmp_path / "apply.tif"
    cube.apply(lambda x: x * 100 + 1).download(out, format="GTiff")
    data, meta = read_raster(out)
    lon, lat = pixel_lonlat(meta)
    np.testing.assert_allclose(data[0], bands_at(ACQ, lon, lat, "B04")["B04"] * 100 + 1, rtol=1e-5)


def test_filter_bbox_and_filter_temporal(connection, tmp_path):
    wide = {"west": 13.99, "south": 45.99, "east": 14.03, "north": 46.03}
    sub = {"west": 14.005, "south": 46.005, "east": 14.015, "north": 46.012}
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=wide, temporal_extent=["2024-05-20", "2024-07-10"], bands=["B08"])
    cube = cube.filter_bbox(**sub).filter_temporal(day_interval(ACQ))
    out = tmp_path / "filtered.tif"
    cube.download(out, format="GTiff")
    data, meta = read_raster(out)
    lon, lat = pixel_lonlat(meta)
    assert lon.min() >= sub["west"] - 0.001 and lon.max() <= sub["east"] + 0.001
    assert lat.min() >= sub["south"] - 0.001 and lat.max() <= sub["north"] + 0.001
    assert data.shape[0] == 1
    np.testing.assert_allclose(data[0], bands_at(ACQ, lon, lat, "B08")["B08"], atol=1e-6)


def test_resample_spatial_to_web_mercator(connection, tmp_path):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ), bands=["B04"])
    out = tmp_path / "mercator.tif"
    cube.resample_spatial(resolution=20, projection=3857).download(out, format="GTiff")
    data, meta = read_raster(out)
    assert meta["crs"].to_epsg() == 3857
    assert meta["transform"].a == pytest.approx(20, rel=0.02) and -meta["transform"].e == pytest.approx(20, rel=0.02)
    lon, lat = pixel_lonlat(meta)
    expected = bands_at(ACQ, lon, lat, "B04")["B04"]
    valid = ~np.isnan(data[0])
    assert valid.mean() > 0.9
    close = np.isclose(data[0][valid], expected[valid], atol=0.02)
    assert close.mean() > 0.9


def test_aggregate_spatial_means_over_polygons(connection, tmp_path):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ), bands=["B04"])
    raster = tmp_path / "b04.tif"
    cube.download(raster, format="GTiff")
    data, meta = read_raster(raster)
    polygons = [
        shapely.geometry.box(14.0031, 46.0042, 14.0087, 46.0093),
        shapely.geometry.box(14.0114, 46.0066, 14.0181, 46.0133),
    ]
    collection = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": f"p{i}"}, "geometry": shapely.geometry.mapping(p)} for i, p in enumerate(polygons)]}
    out = tmp_path / "means.geojson"
    cube.aggregate_spatial(geometries=collection, reducer="mean").download(out, format="GeoJSON")
    result = json.loads(out.read_text())
    lon, lat = pixel_lonlat(meta)
    values = []
    for feature in result["features"]:
        numbers = [v for v in _numbers(feature["properties"])]
        assert numbers, feature
        values.append(numbers[0])
    for polygon, value in zip(polygons, values):
        inside = shapely.contains_xy(polygon, lon, lat)
        assert inside.sum() > 10
        assert value == pytest.approx(float(np.nanmean(data[0][inside])), rel=1e-4)


def test_time_series_at_a_point_is_the_closest_pixel_of_every_date(connection, tmp_path):
    month = [ACQ.date().isoformat(), (ACQ.date() + timedelta(days=30)).isoformat()]
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=month, bands=["B04", "B08"])
    raster = tmp_path / "t.nc"
    cube.download(raster, format="netCDF")
    import xarray as xr

    with xr.open_dataset(raster, engine="h5netcdf") as ds:
        x, y, times = ds.x.values, ds.y.values, ds.t.values
        from pyproj import Transformer

        crs = ds.spatial_ref.attrs["crs_wkt"]
        px, py = Transformer.from_crs(4326, crs, always_xy=True).transform(14.0101, 46.0093)
        col, row = int(np.abs(x - px).argmin()), int(np.abs(y - py).argmin())
        expected = ds.B08.values[:, row, col]
    point = {"type": "Point", "coordinates": [14.0101, 46.0093]}
    series = cube.band("B08").aggregate_spatial(geometries=point, reducer="mean").execute()
    from openeo.rest.conversions import timeseries_json_to_pandas

    frame = timeseries_json_to_pandas(series)  # the official client's reading of it
    assert len(frame) == len(times) > 3 and list(frame.index) == sorted(series)
    np.testing.assert_allclose(frame.to_numpy(dtype=float).ravel(), expected, rtol=1e-6)


@pytest.mark.parametrize("direction", ["ascending", "descending"])
def test_sentinel1_orbit_direction_property(connection, tmp_path, direction):
    start = date(2024, 6, 1)
    cube = connection.load_collection("SENTINEL1_GRD", spatial_extent=BBOX, temporal_extent=["2024-06-01", "2024-07-01"],
                                      bands=["VV"], properties={"sat:orbit_state": lambda v: v == direction})
    out = tmp_path / "s1.nc"
    cube.download(out, format="netCDF")
    import xarray as xr

    with xr.open_dataset(out, engine="h5netcdf") as ds:
        got = [str(v)[:10] for v in ds.t.values]
    passes = [d for d in world.acquisition_dates("sentinel-1-grd", start, date(2024, 7, 1)) if d.month == 6]
    expected = [d.date().isoformat() for d in passes if world.orbit_state("sentinel-1-grd", d) == direction]
    assert got == expected and len(expected) >= 4 and len(expected) < len(passes)


def test_a_load_without_extent_takes_the_area_of_a_later_filter(connection, tmp_path):
    """The openeo client's habit: load_collection without spatial_extent, then filter_bbox."""
    cube = connection.load_collection("SENTINEL2_L2A", temporal_extent=day_interval(ACQ), bands=["B04", "B08"])
    out = tmp_path / "filtered.tif"
    cube.ndvi(nir="B08", red="B04").filter_bbox(**BBOX).download(out, format="GTiff")
    data, meta = read_raster(out)
    lon, lat = pixel_lonlat(meta)
    assert BBOX["west"] - 0.0002 < lon.min() and lon.max() < BBOX["east"] + 0.0002
    assert BBOX["south"] - 0.0002 < lat.min() and lat.max() < BBOX["north"] + 0.0002 and data.shape[1] > 50
    b = bands_at(ACQ, lon, lat, "B04", "B08")
    np.testing.assert_allclose(data[0], ndvi(b["B08"], b["B04"]), atol=1e-5)


def test_a_larger_load_extent_is_cut_to_the_later_filter_and_costs_less(stack, connection, tmp_path):
    big = {"west": 13.9, "south": 45.9, "east": 14.1, "north": 46.1}
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=big, temporal_extent=day_interval(ACQ), bands=["B04"])
    headers = {"Authorization": f"Bearer {connection.auth.bearer}"}

    def cost(graph) -> float:
        resp = requests.post(stack.gateway_url + "/result", json={"process": {"process_graph": graph.flat_graph()}},
                             headers=headers, timeout=120)
        assert resp.status_code == 200, resp.text
        return float(resp.headers["OpenEO-Costs"])

    filtered = cube.filter_bbox(**BBOX)
    assert cost(filtered.save_result("GTiff")) * 20 < cost(cube.save_result("GTiff"))
    out = tmp_path / "cut.tif"
    filtered.download(out, format="GTiff")
    data, meta = read_raster(out)
    lon, lat = pixel_lonlat(meta)
    assert BBOX["west"] - 0.0002 < lon.min() and lon.max() < BBOX["east"] + 0.0002 and data.shape[1] > 50
    np.testing.assert_allclose(data[0], bands_at(ACQ, lon, lat, "B04")["B04"], atol=1e-6)


def _numbers(obj):
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield float(obj)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if key not in ("name",):
                yield from _numbers(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _numbers(value)


def test_user_defined_process(connection, tmp_path):
    data = Parameter.raster_cube()
    connection.save_user_defined_process(
        "my_ndvi",
        {"n": {"process_id": "ndvi", "arguments": {"data": {"from_parameter": "data"}, "nir": "B08", "red": "B04"}, "result": True}},
        parameters=[data],
    )
    assert "my_ndvi" in [p["id"] for p in connection.list_user_defined_processes()]
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ), bands=["B04", "B08"])
    out = tmp_path / "udp.tif"
    cube.process("my_ndvi", data=cube).download(out, format="GTiff")
    result, meta = read_raster(out)
    lon, lat = pixel_lonlat(meta)
    b = bands_at(ACQ, lon, lat, "B04", "B08")
    np.testing.assert_allclose(result[0], ndvi(b["B08"], b["B04"]), atol=1e-5)


def test_invalid_graphs_are_refused_before_any_sentinel_hub_call(connection, stack):
    before = _process_calls(stack)
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ), bands=["B04"])
    with pytest.raises(OpenEoApiError) as info:
        cube.process("no_such_process", data=cube).download(format="GTiff")
    assert info.value.http_status_code == 400 and info.value.code == "ProcessUnsupported"
    huge = connection.load_collection("SENTINEL2_L2A", spatial_extent={"west": -20, "south": 30, "east": 40, "north": 70}, temporal_extent=["2024-01-01", "2024-12-31"], bands=["B04"])
    with pytest.raises(OpenEoApiError) as info:
        huge.download(format="GTiff")
    assert info.value.http_status_code == 400 and info.value.code == "ProcessGraphComplexity"
    with pytest.raises(OpenEoApiError) as info:
        connection.load_collection("NO_SUCH_COLLECTION", spatial_extent=BBOX, temporal_extent=day_interval(ACQ)).download(format="GTiff")
    assert info.value.code == "CollectionNotFound"
    assert _process_calls(stack) == before


def _process_calls(stack) -> int:
    stats = requests.get(stack.emulator_url + "/_emulator/stats", timeout=10).json()
    return sum(n for endpoint, n in stats["requests"].items() if "process" in endpoint)


def test_validation_endpoint_lists_problems(connection):
    graph = {
        "load": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A", "spatial_extent": BBOX, "temporal_extent": ["2024-06-01", "2024-06-10"], "bands": ["B99"]}},
        "x": {"process_id": "frobnicate", "arguments": {"data": {"from_node": "load"}}, "result": True},
    }
    errors = connection.validate_process_graph(graph)
    codes = {e["code"] for e in errors}
    assert "ProcessUnsupported" in codes
    assert any("B99" in e["message"] for e in errors)


def test_landsat_from_the_configured_deployment(connection, tmp_path):
    # Landsat is served by US-West: the stack's configured one (the emulator's /uswest2), never
    # the public deployment.
    landsat = "landsat-ot-l2"
    acq = first_acquisition(date(2024, 6, 1), landsat)
    cube = connection.load_collection("LANDSAT8-9_L2", spatial_extent=BBOX, temporal_extent=day_interval(acq),
                                      bands=["B04", "B05"])
    out = tmp_path / "landsat.tif"
    cube.ndvi(nir="B05", red="B04").download(out, format="GTiff")
    data, meta = read_raster(out)
    assert meta["width"] > 10 and meta["height"] > 10
    lon, lat = pixel_lonlat(meta)
    b = bands_at(acq, lon, lat, "B04", "B05", collection=landsat)
    np.testing.assert_allclose(data[0], ndvi(b["B05"], b["B04"]), atol=1e-5)


def test_reduce_spatial_mean_equals_the_mean_of_the_raster(connection, tmp_path):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ),
                                      bands=["B04", "B08"])
    out = tmp_path / "bands.tif"
    cube.download(out, format="GTiff")
    data, meta = read_raster(out)
    lon, lat = pixel_lonlat(meta)
    b = bands_at(ACQ, lon, lat, "B04", "B08")
    mean = {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}
    result = json.loads(cube.process("reduce_spatial", data=cube, reducer=mean).download(format="JSON"))
    assert result["dims"] == ["t", "bands"] and result["coords"]["bands"] == ["B04", "B08"]
    np.testing.assert_allclose(np.asarray(result["data"], dtype=float)[0], [b["B04"].mean(), b["B08"].mean()], rtol=1e-5)


def test_aggregate_spatial_window_makes_a_coarser_raster_of_window_means(connection, tmp_path):
    cube = connection.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=day_interval(ACQ), bands=["B04"])
    fine, coarse = tmp_path / "fine.tif", tmp_path / "coarse.tif"
    cube.download(fine, format="GTiff")
    mean = {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}
    cube.process("aggregate_spatial_window", data=cube, reducer=mean, size=[2, 2], boundary="trim").download(coarse, format="GTiff")
    full, fmeta = read_raster(fine)
    data, meta = read_raster(coarse)
    ny, nx = fmeta["height"] // 2, fmeta["width"] // 2
    assert (meta["height"], meta["width"]) == (ny, nx)
    assert meta["transform"].a == pytest.approx(2 * fmeta["transform"].a)
    assert (meta["transform"].c, meta["transform"].f) == pytest.approx((fmeta["transform"].c, fmeta["transform"].f))
    blocks = full[0, :ny * 2, :nx * 2].reshape(ny, 2, nx, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(data[0], blocks, rtol=1e-5)
