"""ZARR output (a zipped Zarr store read back through xarray) and chunk-by-chunk writes of
dask-backed cubes: the files equal those of the same cube in memory."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import xarray as xr
import zarr

from compiler_svc.output_formats import output_format
from executor_svc.encoding import encode_result as encode_as
from tests.executor.test_encoding import raster_cube


def encode_result(value, fmt: str, options: dict, out_dir, **kwargs):
    return encode_as(value, output_format(fmt, options), options, out_dir, **kwargs)


def open_zip(path) -> xr.Dataset:
    return xr.open_zarr(zarr.storage.ZipStore(str(path), mode="r"), consolidated=True)


@pytest.mark.parametrize("chunked", [False, True], ids=["eager", "chunked"])
def test_zarr_round_trip_through_xarray(tmp_path, chunked):
    cube = raster_cube(h=40, w=50)
    value = cube.chunk({"y": 16, "x": 16}) if chunked else cube
    files = encode_result(value, "ZARR", {}, tmp_path)
    assert [f.name for f in files] == ["openEO.zarr.zip"]
    assert files[0].media_type == "application/zip; profile=zarr"
    ds = open_zip(files[0].path)
    assert set(ds.data_vars) == {"B04", "B08"} and "spatial_ref" in ds.coords
    assert ds.B04.dims == ("t", "y", "x") and ds.B04.dtype == np.float32
    assert list(ds.t.values) == list(cube.t.values)
    np.testing.assert_array_equal(ds.B08.values, cube.sel(bands="B08").values)  # NaN corner included
    np.testing.assert_allclose(ds.x.values, cube.x.values)
    from pyproj import CRS

    assert CRS.from_wkt(ds.spatial_ref.attrs["crs_wkt"]).to_epsg() == 32633
    # chunked one date deep: a client reading one date reads only its chunks
    assert ds.B04.encoding["chunks"][0] == 1
    if chunked:
        assert ds.B04.encoding["chunks"][1:] == (16, 16)
    # fsspec's zip:: URL opens the same store
    again = xr.open_zarr(f"zip::{files[0].path}", consolidated=True)
    np.testing.assert_array_equal(again.B04.values, ds.B04.values)


def test_zarr_integer_datatype_and_nodata(tmp_path):
    cube = raster_cube(h=20, w=20) * 100
    files = encode_result(cube, "zarr", {"datatype": "int16", "nodata": -1}, tmp_path)
    ds = xr.open_zarr(zarr.storage.ZipStore(str(files[0].path), mode="r"), mask_and_scale=False)
    assert ds.B04.dtype == np.int16 and int(ds.B04.attrs["_FillValue"]) == -1
    raw = ds.B04.values
    assert (raw[:, :10, :10] == -1).all()
    np.testing.assert_array_equal(raw[:, 10:, 10:], np.rint(cube.sel(bands="B04").values[:, 10:, 10:]))


def test_zarr_refuses_options_it_does_not_know():
    from compiler_svc.problems import ProblemError

    with pytest.raises(ProblemError) as info:
        output_format("ZARR", {"compression": "lzw"})
    assert info.value.problem.code == "ProcessParameterInvalid"


def test_chunked_netcdf_equals_eager(tmp_path):
    cube = raster_cube(h=40, w=50)
    eager = encode_result(cube, "netCDF", {}, tmp_path / "eager")
    chunked = encode_result(cube.chunk({"y": 16, "x": 16}), "netCDF", {}, tmp_path / "chunked")
    with xr.open_dataset(eager[0].path, engine="h5netcdf") as a, xr.open_dataset(chunked[0].path, engine="h5netcdf") as b:
        xr.testing.assert_identical(a.load(), b.load())
    for field in ("minimum", "maximum", "mean", "stddev", "valid_percent"):
        assert getattr(chunked[0].metadata.bands[0].statistics, field) == pytest.approx(
            getattr(eager[0].metadata.bands[0].statistics, field), rel=1e-9)


def test_chunked_gtiff_equals_eager(tmp_path):
    cube = raster_cube(h=40, w=50)
    eager = encode_result(cube, "GTiff", {"datatype": "uint16"}, tmp_path / "eager")
    chunked = encode_result(cube.chunk({"y": 16, "x": 16}) * 1, "GTiff", {"datatype": "uint16"}, tmp_path / "chunked")
    assert [f.name for f in chunked] == [f.name for f in eager]
    for a, b in zip(eager, chunked):
        with rasterio.open(a.path) as ra, rasterio.open(b.path) as rb:
            np.testing.assert_array_equal(ra.read(), rb.read())
            assert ra.transform == rb.transform and ra.descriptions == rb.descriptions
        for band_a, band_b in zip(a.metadata.bands, b.metadata.bands):  # merged block statistics: equal up to rounding
            assert band_a.name == band_b.name and band_a.data_type == band_b.data_type
            for field in ("minimum", "maximum", "mean", "stddev", "valid_percent"):
                assert getattr(band_a.statistics, field) == pytest.approx(getattr(band_b.statistics, field), rel=1e-9)
        assert a.metadata.projection == b.metadata.projection


def test_a_chunked_cube_is_written_as_a_valid_cog_window_by_window(tmp_path):
    from rio_cogeo.cogeo import cog_validate

    cube = raster_cube(n_t=1, h=600, w=700)
    files = encode_result(cube.chunk({"y": 256, "x": 300}), "GTiff", {}, tmp_path)
    valid, errors, _ = cog_validate(str(files[0].path))
    assert valid, errors
    with rasterio.open(files[0].path) as ds:
        assert ds.overviews(1) and ds.descriptions == ("B04", "B08")
        np.testing.assert_array_equal(ds.read(), cube.isel(t=0).values)
        assert float(ds.tags(1)["STATISTICS_MAXIMUM"]) == pytest.approx(float(np.nanmax(cube.isel(t=0, bands=0))))
    assert not list(tmp_path.glob("*.staging.tif"))


def _pixels(path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image)


@pytest.mark.parametrize("fmt, options, bands", [
    ("PNG", {}, ("B04",)),
    ("PNG", {"scale_min": 0, "scale_max": 1}, ("B04", "B03", "B02")),
    ("PNG", {"datatype": "uint16", "scale_min": 0, "scale_max": 1}, ("B04",)),
    ("JPEG", {"scale_min": 0, "scale_max": 1, "quality": 95}, ("B04", "B03", "B02")),
])
def test_chunked_png_and_jpeg_equal_eager(tmp_path, fmt, options, bands):
    cube = raster_cube(h=70, w=90, bands=bands) * 255 if not options else raster_cube(h=70, w=90, bands=bands)
    if fmt == "JPEG":  # a photograph-like, smooth picture: JPEG's own loss stays small
        y, x = np.meshgrid(np.arange(70), np.arange(90), indexing="ij")
        smooth = [0.5 + 0.4 * np.sin(y / (9.0 + b) + x / 13.0) for b in range(len(bands))]
        cube = cube.copy(data=np.broadcast_to(np.stack(smooth), cube.shape).astype(np.float32).copy())
    eager = encode_result(cube, fmt, options, tmp_path / "eager")
    chunked = encode_result(cube.chunk({"y": 32, "x": 32}) * 1, fmt, options, tmp_path / "chunked")
    assert [f.name for f in chunked] == [f.name for f in eager] and len(eager) == 2  # one file per date
    for a, b in zip(eager, chunked):
        pa, pb = _pixels(a.path), _pixels(b.path)
        assert pa.shape == pb.shape and pa.dtype == pb.dtype
        if fmt == "PNG":
            np.testing.assert_array_equal(pa, pb)  # values and alpha
        else:  # two JPEG encoders (Pillow, GDAL) of the same 8-bit pixels round differently, by a little
            assert np.abs(pa.astype(int) - pb.astype(int)).mean() < 1.0
        for band_a, band_b in zip(a.metadata.bands, b.metadata.bands):
            for field in ("minimum", "maximum", "mean", "valid_percent"):
                assert getattr(band_a.statistics, field) == pytest.approx(getattr(band_b.statistics, field), rel=1e-6)
    assert not [p for p in (tmp_path / "chunked").iterdir() if p.suffix in (".tif", ".xml")]  # staging removed


def test_a_chunked_image_with_two_bands_is_refused(tmp_path):
    from backend_common.errors import OpenEOError

    with pytest.raises(OpenEOError) as info:
        encode_result(raster_cube(h=20, w=20).chunk({"y": 8, "x": 8}), "PNG", {}, tmp_path)
    assert (info.value.code, info.value.status) == ("FormatUnsuitable", 400)


def test_chunked_gtiff_with_time_as_bands_equals_eager(tmp_path):
    cube = raster_cube(h=40, w=50)
    options = {"time_as_bands": True}
    eager = encode_result(cube, "GTiff", options, tmp_path / "eager")
    chunked = encode_result(cube.chunk({"t": 1, "bands": 1, "y": 16, "x": 16}) * 1, "GTiff", options, tmp_path / "c")
    assert [f.name for f in chunked] == [f.name for f in eager] == ["openEO.tif"]
    with rasterio.open(eager[0].path) as ra, rasterio.open(chunked[0].path) as rb:
        assert ra.count == rb.count == 4 and ra.descriptions == rb.descriptions
        np.testing.assert_array_equal(ra.read(), rb.read())
