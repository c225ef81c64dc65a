"""Issue 20, formats: netCDF's layout as readers expect it, save_result's `datatype` (GTiff,
netCDF, PNG) with sensible no-data, t labels that are not dates, empty and one-pixel cubes."""

from __future__ import annotations

import h5netcdf
import numpy as np
import pytest
import rasterio
import xarray as xr
from pyproj import CRS

from backend_common.errors import OpenEOError
from compiler_svc.output_formats import file_formats, output_format
from compiler_svc.problems import ProblemError
from executor_svc.encoding import encode_result as encode_as
from executor_svc.encoding.datatypes import cast_for_file


def encode(value, fmt: str, options: dict, out_dir):
    return encode_as(value, output_format(fmt, options), options, out_dir)


def cube(n_t=2, bands=("B04", "B08"), h=20, w=30, t_labels=None, name="loadcollection1"):
    xs = 500000.0 + (np.arange(w) + 0.5) * 10
    ys = 5200000.0 - (np.arange(h) + 0.5) * 10
    data = np.linspace(-5, 300, n_t * len(bands) * h * w, dtype=np.float32).reshape(n_t, len(bands), h, w)
    data[:, :, 0, 0] = np.nan
    t = t_labels if t_labels is not None else np.array(["2024-05-01", "2024-05-11", "2024-05-21"][:n_t], dtype="datetime64[ns]")
    return xr.DataArray(data, dims=("t", "bands", "y", "x"), coords={"t": t, "bands": list(bands), "y": ys, "x": xs},
                        attrs={"crs": 32633}, name=name)


def test_netcdf_has_one_variable_per_band_t_y_x_and_a_grid_mapping_readers_find(tmp_path):
    path = encode(cube(), "netCDF", {}, tmp_path)[0].path
    with xr.open_dataset(path) as ds:  # xarray's default engine and decoding
        assert list(ds.data_vars) == ["B04", "B08"]
        assert all(ds[v].dims == ("t", "y", "x") for v in ds.data_vars)
        assert ds.to_array(dim="bands").dims == ("bands", "t", "y", "x")  # no spurious 4th dimension
        # rioxarray-like CRS detection: the variable the grid_mapping attribute names
        grid_mapping = ds.B04.attrs.get("grid_mapping") or ds.B04.encoding.get("grid_mapping")
        assert CRS.from_wkt(ds[grid_mapping].attrs["crs_wkt"]).to_epsg() == 32633
        assert ds[grid_mapping].attrs["grid_mapping_name"] == "transverse_mercator"
    with h5netcdf.File(path, "r") as f:  # a plain netCDF-4 reader
        assert f.variables["B08"].dimensions == ("t", "y", "x")
        assert f.variables["B08"].attrs["grid_mapping"] == "spatial_ref"
        assert f.variables["spatial_ref"].dimensions == ()
    with rasterio.open(f"netcdf:{path}:B04") as ds:  # GDAL's netCDF driver
        assert ds.crs.to_epsg() == 32633 and ds.count == 2
        assert ds.transform.a == pytest.approx(10) and ds.transform.c == pytest.approx(500000)


def test_netcdf_of_a_cube_without_band_labels_names_bands_not_after_the_node(tmp_path):
    reduced = cube(bands=("x",)).isel(bands=0, drop=True)
    with xr.open_dataset(encode(reduced, "netCDF", {}, tmp_path / "a")[0].path) as ds:
        assert list(ds.data_vars) == ["band"]  # the plan's default label of a band-less result
    output = output_format("netCDF", {})
    output.band_name = "ndvi"  # as the compiler labels an ndvi result
    with xr.open_dataset(encode_as(reduced, output, {}, tmp_path / "b")[0].path) as ds:
        assert list(ds.data_vars) == ["ndvi"]


def test_netcdf_and_gtiff_of_text_t_labels(tmp_path):
    """rename_labels on t, aggregate_temporal_period's periods: labels that are not dates."""
    renamed = cube(t_labels=np.array(["one", "2024-06"], dtype=object))
    with xr.open_dataset(encode(renamed, "netCDF", {}, tmp_path / "nc")[0].path) as ds:
        assert list(ds.t.values) == ["one", "2024-06"]
        np.testing.assert_array_equal(ds.B04.values, renamed.sel(bands="B04").values)
    files = encode(renamed, "GTiff", {}, tmp_path / "tif")
    assert [f.name for f in files] == ["openEO_one.tif", "openEO_2024-06.tif"]
    assert [f.datetime for f in files] == [None, None]  # no datetime that is not one
    with rasterio.open(files[1].path) as ds:
        assert "datetime" not in ds.tags()


@pytest.mark.parametrize("datatype, nodata", [("byte", 255), ("uint8", 255), ("int16", -32768), ("uint16", 65535),
                                              ("int32", -2147483648), ("uint32", 4294967295)])
@pytest.mark.parametrize("size", [20, 600])  # small_cog and GDAL's COG driver
def test_gtiff_integer_datatypes_round_clip_and_declare_nodata(tmp_path, datatype, nodata, size):
    c = cube(n_t=1, h=size, w=size)
    files = encode(c, "GTiff", {"datatype": datatype}, tmp_path)
    with rasterio.open(files[0].path) as ds:
        assert ds.dtypes[0] == ("uint8" if datatype == "byte" else datatype)
        assert ds.nodata == nodata
        values = ds.read()
    source = c.isel(t=0).values
    assert values[0, 0, 0] == nodata  # NaN → the no-data value
    info = np.iinfo(values.dtype)
    lo, hi = (info.min + 1, info.max) if nodata == info.min else (info.min, info.max - 1)
    expected = np.clip(np.rint(source[:, 1:, :]), lo, hi)
    np.testing.assert_array_equal(values[:, 1:, :], expected)


def test_gtiff_declared_nodata_and_float64(tmp_path):
    c = cube(n_t=1)
    with rasterio.open(encode(c, "GTiff", {"datatype": "int16", "nodata": -1}, tmp_path / "a")[0].path) as ds:
        assert ds.nodata == -1 and ds.read(1)[0, 0] == -1
    with rasterio.open(encode(c, "GTiff", {"datatype": "float64"}, tmp_path / "b")[0].path) as ds:
        assert ds.dtypes[0] == "float64" and np.isnan(ds.read(1)[0, 0])
        np.testing.assert_array_equal(ds.read(2)[1:], c.isel(t=0).values[1, 1:].astype(np.float64))


def test_netcdf_integer_datatype_fill_value(tmp_path):
    path = encode(cube(), "netCDF", {"datatype": "uint16"}, tmp_path)[0].path
    with h5netcdf.File(path, "r") as f:
        var = f.variables["B04"]
        assert var.dtype == np.uint16 and var.attrs["_FillValue"] == 65535
        assert var[0, 0, 0] == 65535
    with xr.open_dataset(path) as ds:  # decoded: the fill value is no-data again
        assert np.isnan(ds.B04.values[0, 0, 0]) and ds.B04.values[0, 0, 1] == 0  # -5 clipped to 0


def test_png_uint16(tmp_path):
    c = cube(n_t=1, bands=("a",)).isel(t=0, drop=True)
    path = encode(c, "PNG", {"datatype": "uint16", "scale_min": -5, "scale_max": 300}, tmp_path)[0].path
    with rasterio.open(path) as ds:
        assert ds.dtypes == ("uint16", "uint16") and ds.count == 2  # grey + alpha
        grey, alpha = ds.read()
    assert alpha[0, 0] == 0 and alpha[0, 1] == 65535
    assert grey[-1, -1] == 65535 and grey.max() == 65535
    header = path.read_bytes()[:26]
    assert header[12:16] == b"IHDR" and header[24] == 16 and header[25] == 4  # 16 bits per sample, grey + alpha


def test_datatype_and_nodata_are_checked_by_the_format_table():
    for fmt, options in [("GTiff", {"datatype": "int8"}), ("PNG", {"datatype": "int16"}),
                         ("GTiff", {"datatype": "byte", "nodata": 256}), ("netCDF", {"datatype": "uint16", "nodata": -1}),
                         ("GTiff", {"datatype": "int16", "nodata": 0.5}), ("JPEG", {"datatype": "byte"})]:
        with pytest.raises(ProblemError):
            output_format(fmt, options)
    output_format("GTiff", {"datatype": "uint32", "nodata": 0})


def test_file_formats_parameters_are_flat_json_schemas():
    """openEO API 1.2 `resource_parameter`: {description, type, ...}, not {description, schema}."""
    for fmt in file_formats()["output"].values():
        for parameter in fmt["parameters"].values():
            assert "schema" not in parameter and isinstance(parameter["description"], str) and "type" in parameter
    assert file_formats()["output"]["GTiff"]["parameters"]["datatype"]["enum"][:2] == ["byte", "uint8"]


def test_an_empty_cube_is_no_data_available_not_a_crash(tmp_path):
    empty = cube().isel(x=slice(0, 0))
    for fmt in ("GTiff", "netCDF", "PNG"):
        with pytest.raises(OpenEOError) as err:
            encode(empty.isel(bands=[0]), fmt, {}, tmp_path)
        assert err.value.code == "NoDataAvailable" and err.value.status == 400


def test_one_pixel_cube_keeps_its_pixel_size(tmp_path):
    one = cube(n_t=1).isel(x=[3], y=[4])
    one.attrs.update(res_x=10.0, res_y=10.0)
    with rasterio.open(encode(one, "GTiff", {}, tmp_path)[0].path) as ds:
        assert ds.shape == (1, 1) and ds.transform.a == 10 and ds.transform.e == -10
        assert ds.transform.c == pytest.approx(500030) and ds.transform.f == pytest.approx(5200000 - 40)


def test_one_pixel_netcdf_keeps_its_pixel_size(tmp_path):
    one = cube(n_t=1).isel(x=[3], y=[4])
    one.attrs.update(res_x=10.0, res_y=10.0)
    path = encode(one, "netCDF", {}, tmp_path)[0].path
    with rasterio.open(f"netcdf:{path}:B04") as ds:
        assert ds.shape == (1, 1) and ds.transform.a == 10 and ds.transform.e == -10
        assert ds.bounds.left == pytest.approx(500030) and ds.bounds.top == pytest.approx(5200000 - 40)


def test_cast_for_file_float_with_declared_nodata():
    values, fill = cast_for_file(np.array([np.nan, 1.5], dtype=np.float32), "float32", -9999)
    assert fill == -9999 and values.tolist() == [-9999, 1.5]


def test_datatype_with_time_as_bands_and_the_result_metadata(tmp_path):
    c = cube()
    files = encode_as(c, output_format("GTiff", {"datatype": "uint16", "time_as_bands": True}),
                      {"datatype": "uint16", "time_as_bands": True}, tmp_path)
    assert len(files) == 1
    with rasterio.open(files[0].path) as ds:
        assert ds.count == 4 and ds.dtypes == ("uint16",) * 4 and ds.nodata == 65535
        assert ds.descriptions[0] == "2024-05-01_B04"
    band = files[0].metadata.bands[0]  # what a batch job's STAC item says about the band
    assert band.data_type == "uint16" and band.nodata == 65535
    assert band.statistics.minimum == 0 and band.statistics.maximum < 65535  # no-data left out
