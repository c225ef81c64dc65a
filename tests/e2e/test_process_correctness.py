"""Issue 20 through the whole stack (gateway → compiler → executor → emulator): answers that were
500s, values that were wrong, and file formats as readers expect them. Values are checked against
numpy recomputed from the emulator's synthetic world."""

from __future__ import annotations

import warnings
from datetime import date

import numpy as np
import pytest
import rasterio
import requests
import xarray as xr

from sentinelhub_emulator import world
from tests.e2e.worldcheck import S2, bands_at, pixel_lonlat, read_raster

BBOX = {"west": 14.0013, "south": 46.0017, "east": 14.0113, "north": 46.0087}
JUNE = ["2024-06-01", "2024-07-01"]


def _post(stack, connection, graph: dict) -> requests.Response:
    return requests.post(stack.gateway_url + "/result", json={"process": {"process_graph": graph}},
                         headers={"Authorization": f"Bearer {connection.auth.bearer}"}, timeout=180)


def _ok(resp: requests.Response) -> requests.Response:
    assert resp.status_code == 200, resp.text
    return resp


def _load(extent=BBOX, temporal=JUNE, bands=("B04",)) -> dict:
    return {"process_id": "load_collection", "arguments": {
        "id": "SENTINEL2_L2A", "spatial_extent": extent, "temporal_extent": temporal, "bands": list(bands)}}


def _save(node: str, fmt: str = "GTiff", options: dict | None = None) -> dict:
    return {"process_id": "save_result", "arguments": {"data": {"from_node": node}, "format": fmt,
                                                       "options": options or {}}, "result": True}


def _apply(node: str, pid: str, **arguments) -> dict:
    return {"process_id": "apply", "arguments": {"data": {"from_node": node}, "process": {"process_graph": {
        "f": {"process_id": pid, "arguments": {"x": {"from_parameter": "x"}, **arguments}, "result": True}}}}}


def _reducer(pid: str) -> dict:
    return {"process_graph": {"r": {"process_id": pid, "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}


def _nc(tmp_path, content: bytes, name="out.nc") -> xr.Dataset:
    path = tmp_path / name
    path.write_bytes(content)
    return xr.open_dataset(path)


def _lonlat(ds: xr.Dataset):
    return np.meshgrid(ds.x.values, ds.y.values)


# -- 500s that are openEO errors or answers now -----------------------------------------------------

def test_filter_bbox_outside_the_loaded_area_is_no_data_available(stack, connection):
    graph = {"load": _load(), "f": {"process_id": "filter_bbox", "arguments": {
        "data": {"from_node": "load"}, "extent": {"west": 15.0, "south": 47.0, "east": 15.01, "north": 47.01}}},
        "save": _save("f")}
    resp = _post(stack, connection, graph)
    assert resp.status_code == 400 and resp.json()["code"] == "NoDataAvailable", resp.text
    # and a process that cannot work on the empty cube says the same instead of failing
    graph["r"] = {"process_id": "resample_spatial", "arguments": {"data": {"from_node": "f"}, "projection": 3857}}
    graph["save"] = _save("r")
    resp = _post(stack, connection, graph)
    assert resp.status_code == 400 and resp.json()["code"] == "NoDataAvailable", resp.text


@pytest.mark.parametrize("projection", ["invalid", "EPSG:99999999", "+proj=nonsense"])
def test_resample_spatial_with_an_unknown_projection_is_a_parameter_error(stack, connection, projection):
    graph = {"load": _load(), "r": {"process_id": "resample_spatial", "arguments": {
        "data": {"from_node": "load"}, "projection": projection, "resolution": 20}}, "save": _save("r")}
    resp = _post(stack, connection, graph)
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] == "ProcessParameterInvalid" and "projection" in resp.json()["message"]


def test_rename_labels_on_t_then_netcdf(stack, connection, tmp_path):
    graph = {"load": _load(temporal=["2024-06-05", "2024-06-11"]),
             "rename": {"process_id": "rename_labels", "arguments": {
                 "data": {"from_node": "load"}, "dimension": "t", "target": ["first", "second"]}},
             "save": _save("rename", "netCDF")}
    with _nc(tmp_path, _ok(_post(stack, connection, graph)).content) as ds:
        assert list(ds.t.values) == ["first", "second"]
        lon, lat = _lonlat(ds)
        days = world.acquisition_dates(S2, date(2024, 6, 5), date(2024, 6, 10))
        for i, d in enumerate(days):
            np.testing.assert_allclose(ds.B04.values[i], bands_at(d, lon, lat, "B04")["B04"], atol=1e-5)


# -- wrong values ---------------------------------------------------------------------------------

def test_mod_by_zero_is_null_for_numbers_and_nan_in_cubes(stack, connection, tmp_path):
    resp = _ok(_post(stack, connection, {"m": {"process_id": "mod", "arguments": {"x": 27, "y": 0}, "result": True}}))
    assert resp.json() is None
    resp = _ok(_post(stack, connection, {"m": {"process_id": "mod", "arguments": {"x": -27, "y": 5}, "result": True}}))
    assert resp.json() == 3
    graph = {"load": _load(temporal=["2024-06-05", "2024-06-06"]), "a": _apply("load", "mod", y=0), "save": _save("a")}
    (tmp_path / "mod.tif").write_bytes(_ok(_post(stack, connection, graph)).content)
    data, _ = read_raster(tmp_path / "mod.tif")
    assert np.isnan(data).all()


@pytest.mark.parametrize("input_range, output_range", [((0.3, 0.0), (0, 1)), ((0.0, 0.3), (255, 0)), ((0.3, 0.0), (10, 20))])
def test_linear_scale_range_with_inverted_ranges(stack, connection, tmp_path, input_range, output_range):
    """Inverted input or output ranges scale in reverse (not a clip), both in the evalscript (right after
    the load) and in the executor (after aggregate_temporal_period)."""
    (imin, imax), (omin, omax) = input_range, output_range
    arguments = {"inputMin": imin, "inputMax": imax, "outputMin": omin, "outputMax": omax}
    day = world.acquisition_dates(S2, date(2024, 6, 5), date(2024, 6, 6))[0]
    pushed = {"load": _load(temporal=["2024-06-05", "2024-06-06"]), "a": _apply("load", "linear_scale_range", **arguments),
              "save": _save("a")}
    in_executor = {"load": _load(temporal=["2024-06-05", "2024-06-06"]),
                   "agg": {"process_id": "aggregate_temporal_period", "arguments": {
                       "data": {"from_node": "load"}, "period": "day", "reducer": _reducer("mean")}},
                   "a": _apply("agg", "linear_scale_range", **arguments), "save": _save("a")}
    for name, graph in (("pushed", pushed), ("executor", in_executor)):
        (tmp_path / f"{name}.tif").write_bytes(_ok(_post(stack, connection, graph)).content)
        data, meta = read_raster(tmp_path / f"{name}.tif")
        lon, lat = pixel_lonlat(meta)
        x = np.clip(bands_at(day, lon, lat, "B04")["B04"], min(imin, imax), max(imin, imax))
        expected = (x - imin) / (imax - imin) * (omax - omin) + omin
        np.testing.assert_allclose(data[0], expected, atol=1e-4, err_msg=name)
        assert np.ptp(data[0]) > 0.01, name  # not a constant (what a plain clip of an inverted range gives)


def test_aggregate_temporal_period_week_labels_cover_the_whole_extent(stack, connection, tmp_path):
    graph = {"load": _load(),
             "agg": {"process_id": "aggregate_temporal_period", "arguments": {
                 "data": {"from_node": "load"}, "period": "week", "reducer": _reducer("mean")}},
             "save": _save("agg", "netCDF")}
    with _nc(tmp_path, _ok(_post(stack, connection, graph)).content) as ds:
        # June 2024: 1-2 June are in ISO week 22 (no acquisition), 24-30 June in week 26
        assert list(ds.t.values) == ["2024-22", "2024-23", "2024-24", "2024-25", "2024-26"]
        assert np.isnan(ds.B04.values[0]).all()
        lon, lat = _lonlat(ds)
        days = world.acquisition_dates(S2, date(2024, 6, 1), date(2024, 7, 1))
        for i, week in enumerate(range(22, 27)):
            in_week = [d for d in days if d.isocalendar()[1] == week]
            if not in_week:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = np.nanmean([bands_at(d, lon, lat, "B04")["B04"] for d in in_week], axis=0)
            np.testing.assert_allclose(ds.B04.values[i], expected, atol=1e-5, err_msg=str(week))


@pytest.mark.parametrize("period, labels", [("month", ["2024-06"]), ("dekad", ["2024-16", "2024-17", "2024-18"]),
                                            ("year", ["2024"]), ("season", ["2024-jja"]),
                                            ("tropical-season", ["2024-mjjaso"]), ("day", [f"2024-{d:03d}" for d in range(153, 183)])])
def test_aggregate_temporal_period_labels_are_the_definitions_forms(stack, connection, tmp_path, period, labels):
    graph = {"load": _load(extent={"west": 14.0013, "south": 46.0017, "east": 14.0033, "north": 46.0037}),
             "agg": {"process_id": "aggregate_temporal_period", "arguments": {
                 "data": {"from_node": "load"}, "period": period, "reducer": _reducer("max")}},
             "save": _save("agg", "netCDF")}
    with _nc(tmp_path, _ok(_post(stack, connection, graph)).content) as ds:
        assert list(ds.t.values) == labels


@pytest.mark.parametrize("fmt, options", [("GTiff", {}), ("GTiff", {"overviews": False}), ("netCDF", {})])
def test_a_box_smaller_than_a_pixel_is_georeferenced_as_itself(stack, connection, tmp_path, fmt, options):
    """The GTiff pass-through, the cube path to GTiff and to netCDF."""
    tiny = {"west": 14.00001, "south": 46.00001, "east": 14.00004, "north": 46.00003}
    graph = {"load": _load(extent=tiny, temporal=["2024-06-05", "2024-06-06"]),
             "r": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "load"}, "dimension": "t",
                                                                   "reducer": _reducer("first")}},
             "save": _save("r", fmt, options)}
    (tmp_path / "tiny").write_bytes(_ok(_post(stack, connection, graph)).content)
    with rasterio.open(tmp_path / "tiny" if fmt == "GTiff" else f"netcdf:{tmp_path / 'tiny'}:B04") as ds:
        assert ds.shape == (1, 1)
        west, south, east, north = ds.bounds
    assert (west, south, east, north) == pytest.approx((14.00001, 46.00001, 14.00004, 46.00003), abs=1e-9)


# -- formats --------------------------------------------------------------------------------------

def test_netcdf_layout_through_the_stack(stack, connection, tmp_path):
    graph = {"load": _load(temporal=["2024-06-05", "2024-06-11"], bands=("B04", "B08")), "save": _save("load", "netCDF")}
    with _nc(tmp_path, _ok(_post(stack, connection, graph)).content) as ds:
        assert list(ds.data_vars) == ["B04", "B08"] and ds.B04.dims == ("t", "y", "x")
        assert ds.to_array(dim="bands").dims == ("bands", "t", "y", "x")
        assert ds[ds.B04.attrs["grid_mapping"]].attrs["crs_wkt"].startswith("GEOGCRS")
        assert ds.t.values.dtype.kind == "M" and len(ds.t) == 2


def test_save_result_datatype_through_the_stack(stack, connection, tmp_path):
    graph = {"load": _load(temporal=["2024-06-05", "2024-06-06"]), "a": _apply("load", "multiply", y=10000),
             "save": _save("a", "GTiff", {"datatype": "uint16"})}
    (tmp_path / "u16.tif").write_bytes(_ok(_post(stack, connection, graph)).content)
    with rasterio.open(tmp_path / "u16.tif") as ds:
        assert ds.dtypes == ("uint16",) and ds.nodata == 65535
        values = ds.read(1)
        lon, lat = pixel_lonlat({"transform": ds.transform, "width": ds.width, "height": ds.height, "crs": ds.crs})
    day = world.acquisition_dates(S2, date(2024, 6, 5), date(2024, 6, 6))[0]
    np.testing.assert_array_equal(values, np.clip(np.rint(bands_at(day, lon, lat, "B04")["B04"] * 10000), 0, 65534))
    graph["save"] = _save("a", "netCDF", {"datatype": "int16", "nodata": -1})
    (tmp_path / "i16.nc").write_bytes(_ok(_post(stack, connection, graph)).content)
    with xr.open_dataset(tmp_path / "i16.nc", mask_and_scale=False) as ds:
        assert ds.B04.dtype == np.int16 and ds.B04.attrs["_FillValue"] == -1
    graph["save"] = _save("a", "PNG", {"datatype": "uint16", "scale_min": 0, "scale_max": 10000})
    png = _ok(_post(stack, connection, graph)).content
    assert png[24] == 16  # bit depth in the IHDR chunk
    graph["save"] = _save("a", "GTiff", {"datatype": "int8"})
    resp = _post(stack, connection, graph)
    assert resp.status_code == 400 and resp.json()["code"] == "ProcessParameterInvalid", resp.text


def test_file_formats_parameters_are_flat_schemas(stack):
    formats = requests.get(stack.gateway_url + "/file_formats", timeout=30).json()
    for fmt in formats["output"].values():
        for parameter in fmt["parameters"].values():
            assert "schema" not in parameter and "description" in parameter and "type" in parameter
    assert "uint16" in formats["output"]["PNG"]["parameters"]["datatype"]["enum"]


@pytest.mark.parametrize("reducer", ["sd", "mean"])  # sd runs in the executor, mean in the evalscript
def test_reducing_time_without_acquisitions_is_no_data(stack, connection, tmp_path, reducer):
    """1-4 June 2024 has no acquisition in the emulator's world: the reduction is no-data everywhere."""
    assert not world.acquisition_dates(S2, date(2024, 6, 1), date(2024, 6, 5))
    graph = {"load": _load(temporal=["2024-06-01", "2024-06-05"]),
             "r": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "load"}, "dimension": "t",
                                                                   "reducer": _reducer(reducer)}},
             "save": _save("r")}
    (tmp_path / "none.tif").write_bytes(_ok(_post(stack, connection, graph)).content)
    data, meta = read_raster(tmp_path / "none.tif")
    assert data.shape[1] > 10 and np.isnan(data).all()
