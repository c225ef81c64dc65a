"""Encoders: COG validity, netCDF round trip, PNG alpha, vector formats, format names."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from PIL import Image
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import Point, box

from backend_common.errors import OpenEOError
from compiler_svc.output_formats import file_formats, output_format
from compiler_svc.problems import ProblemError
from executor_svc.encoding import bundle
from executor_svc.encoding import encode_result as encode_as


def encode_result(value, fmt: str, options: dict, out_dir, **kwargs):
    """Encodes as a plan asks: the compiler's OutputFormat of `fmt` (options checked there)."""
    return encode_as(value, output_format(fmt, options), options, out_dir, **kwargs)


def raster_cube(n_t=2, bands=("B04", "B08"), h=600, w=700, epsg=32633, nan_corner=True):
    res = 10.0
    west, north = 500000.0, 5200000.0
    xs = west + (np.arange(w) + 0.5) * res
    ys = north - (np.arange(h) + 0.5) * res
    rng = np.random.default_rng(1)
    data = rng.random((n_t, len(bands), h, w)).astype(np.float32)
    if nan_corner:
        data[:, :, :10, :10] = np.nan
    return xr.DataArray(
        data,
        dims=("t", "bands", "y", "x"),
        coords={
            "t": np.array(["2024-05-01", "2024-05-11"][:n_t], dtype="datetime64[ns]"),
            "bands": list(bands),
            "y": ys,
            "x": xs,
        },
        attrs={"crs": epsg},
    )


def test_gtiff_is_tiled_compressed_cog_with_overviews_and_georeferencing(tmp_path):
    cube = raster_cube()
    files = encode_result(cube, "gtiff", {}, tmp_path)
    assert [f.name for f in files] == ["openEO_2024-05-01.tif", "openEO_2024-05-11.tif"]
    assert files[0].datetime == "2024-05-01T00:00:00Z"
    with rasterio.open(files[1].path) as ds:
        assert ds.count == 2
        assert ds.descriptions == ("B04", "B08")
        assert ds.crs.to_epsg() == 32633
        assert ds.transform.a == 10.0 and ds.transform.e == -10.0
        assert ds.transform.c == 500000.0 and ds.transform.f == 5200000.0
        assert ds.profile["tiled"] is True
        assert ds.block_shapes[0] == (512, 512)
        assert ds.compression.name.lower() == "deflate"
        assert ds.overviews(1), "COG must carry overviews"
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        np.testing.assert_array_equal(ds.read(2), cube.isel(t=1).sel(bands="B08").values)
        # pixel centre round trip
        x, y = ds.xy(5, 7)
        assert x == pytest.approx(float(cube.x[7])) and y == pytest.approx(float(cube.y[5]))
    assert cog_validate(str(files[1].path)) == (True, [], [])
    meta = files[0].metadata
    assert meta.projection.epsg == 32633 and list(meta.projection.shape) == [600, 700]
    assert list(meta.projection.bbox) == [500000.0, 5194000.0, 507000.0, 5200000.0]
    assert [b.name for b in meta.bands] == ["B04", "B08"]
    assert all(b.data_type == "float32" and np.isnan(b.nodata) for b in meta.bands)


def test_small_gtiff_is_a_cog_of_256_px_blocks_without_overviews(tmp_path):
    cube = raster_cube(n_t=1, h=512, w=300)
    (file,) = encode_result(cube, "GTiff", {}, tmp_path)
    assert cog_validate(str(file.path)) == (True, [], [])
    with rasterio.open(file.path) as ds:
        assert ds.block_shapes[0] == (256, 256)
        assert ds.overviews(1) == []
        assert ds.descriptions == ("B04", "B08")
        assert ds.tags()["datetime"] == "2024-05-01T00:00:00Z"
        np.testing.assert_array_equal(ds.read(), cube.isel(t=0).values)


def test_cog_layout_rule():
    from executor_svc.encoding.gtiff import cog_layout

    assert cog_layout(512, 512, True) == (256, "NONE")
    assert cog_layout(513, 10, True) == (512, "AUTO")
    assert cog_layout(2000, 2000, False) == (512, "NONE")


def test_statistics_only_when_metadata_is_wanted(tmp_path):
    cube = raster_cube(n_t=1, h=32, w=32)
    (with_meta,) = encode_result(cube, "GTiff", {}, tmp_path / "a")
    (without,) = encode_result(cube, "GTiff", {}, tmp_path / "b", metadata=False)
    assert with_meta.metadata.bands[0].statistics.HasField("valid_percent")
    assert without.metadata is None
    assert without.path.read_bytes() == with_meta.path.read_bytes()


def test_gtiff_time_as_bands_single_file(tmp_path):
    files = encode_result(raster_cube(), "GTiff", {"time_as_bands": True}, tmp_path)
    assert len(files) == 1
    with rasterio.open(files[0].path) as ds:
        assert ds.count == 4
        assert ds.descriptions[0] == "2024-05-01_B04" and ds.descriptions[3] == "2024-05-11_B08"


def test_sync_bundle_zips_several_files(tmp_path):
    files = encode_result(raster_cube(h=64, w=64), "GTiff", {}, tmp_path)
    single = bundle(files, tmp_path)
    assert single.media_type == "application/zip"
    with zipfile.ZipFile(single.path) as archive:
        assert sorted(archive.namelist()) == ["openEO_2024-05-01.tif", "openEO_2024-05-11.tif"]


def test_netcdf_roundtrip_with_crs_and_time(tmp_path):
    cube = raster_cube(h=40, w=50)
    files = encode_result(cube, "NETCDF", {}, tmp_path)
    assert files[0].media_type == "application/x-netcdf"
    ds = xr.open_dataset(files[0].path, engine="h5netcdf")
    try:
        # one variable per band; the grid mapping is a coordinate, not a data variable (issue 20)
        assert set(ds.data_vars) == {"B04", "B08"} and "spatial_ref" in ds.coords
        assert ds.to_array().dims == ("variable", "t", "y", "x")
        assert ds.B04.dims == ("t", "y", "x")
        assert list(ds.t.values) == list(cube.t.values)
        assert ds.B04.attrs["grid_mapping"] == "spatial_ref"
        from pyproj import CRS

        assert CRS.from_wkt(ds.spatial_ref.attrs["crs_wkt"]).to_epsg() == 32633
        assert ds.x.attrs["standard_name"] == "projection_x_coordinate"
        np.testing.assert_array_equal(ds.B08.values, cube.sel(bands="B08").values)
        assert ds.attrs["Conventions"].startswith("CF-")
    finally:
        ds.close()


def test_png_alpha_marks_nan_and_scaling(tmp_path):
    cube = raster_cube(n_t=1, bands=("a",), h=20, w=30, nan_corner=False)
    cube = cube.isel(t=0, drop=True) * 0 + 0.5
    cube[:, :3, :4] = np.nan
    files = encode_result(cube, "png", {"scale_min": 0, "scale_max": 1}, tmp_path)
    image = Image.open(files[0].path)
    assert image.mode == "LA" and image.size == (30, 20)
    arr = np.asarray(image)
    assert (arr[:3, :4, 1] == 0).all() and (arr[3:, :, 1] == 255).all()
    assert arr[10, 10, 0] == 128


def test_png_rgb_and_jpeg(tmp_path):
    cube = raster_cube(n_t=1, bands=("r", "g", "b"), h=16, w=16, nan_corner=False).isel(t=0, drop=True) * 255
    png = encode_result(cube, "PNG", {}, tmp_path / "p")[0]
    assert Image.open(png.path).mode == "RGBA"
    jpg = encode_result(cube, "jpeg", {"quality": 80}, tmp_path / "j")[0]
    assert Image.open(jpg.path).mode == "RGB" and jpg.media_type == "image/jpeg"


def test_png_refuses_two_bands(tmp_path):
    with pytest.raises(OpenEOError) as info:
        encode_result(raster_cube(n_t=1).isel(t=0, drop=True), "PNG", {}, tmp_path)
    assert info.value.code == "FormatUnsuitable"


def vector_cube():
    data = np.array([[[1.0, 2.0]], [[np.nan, 4.5]]])  # geometry, t, bands
    return xr.DataArray(
        data,
        dims=("geometry", "t", "bands"),
        coords={"t": np.array(["2024-05-01"], dtype="datetime64[ns]"), "bands": ["B04", "NDVI"]},
        attrs={"geometries": [box(0, 0, 1, 1), Point(2, 3)], "crs": 4326},
    )


def test_geojson_and_csv_for_vector_cubes(tmp_path):
    doc = json.loads(encode_result(vector_cube(), "GeoJSON", {}, tmp_path)[0].path.read_bytes())
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 2
    assert doc["features"][1]["geometry"] == {"type": "Point", "coordinates": [2.0, 3.0]}
    assert doc["features"][1]["properties"] == {"2024-05-01T00:00:00Z": {"B04": None, "NDVI": 4.5}}
    rows = list(csv.reader(io.StringIO(encode_result(vector_cube(), "csv", {}, tmp_path)[0].path.read_text())))
    assert rows == [["feature_index", "date", "B04", "NDVI"], ["0", "2024-05-01T00:00:00Z", "1.0", "2.0"], ["1", "2024-05-01T00:00:00Z", "", "4.5"]]


def test_json_for_plain_values_and_cubes(tmp_path):
    assert json.loads(encode_result({"a": np.float32(1.5), "b": [np.nan]}, "json", {}, tmp_path)[0].path.read_bytes()) == {
        "a": 1.5,
        "b": [None],
    }
    doc = json.loads(encode_result(vector_cube(), "JSON", {}, tmp_path)[0].path.read_bytes())
    assert doc == {"2024-05-01T00:00:00Z": [[1.0, 2.0], [None, 4.5]]}  # {date: [[bands] per geometry]}


def test_time_series_json_is_what_the_openeo_client_converts():
    from openeo.rest.conversions import timeseries_json_to_pandas

    from executor_svc.encoding.vector import encode_json

    cube = vector_cube()
    two_dates = xr.concat([cube, (cube * 10).assign_coords(t=[np.datetime64("2024-05-11")])], dim="t")
    two_dates.attrs = cube.attrs
    frame = timeseries_json_to_pandas(json.loads(encode_json(two_dates)))
    assert list(frame.index) == ["2024-05-01T00:00:00Z", "2024-05-11T00:00:00Z"]
    assert frame.loc["2024-05-11T00:00:00Z", (1, 1)] == 45.0 and np.isnan(frame.loc["2024-05-01T00:00:00Z", (1, 0)])
    one_band = json.loads(encode_json(two_dates.sel(bands="NDVI", drop=True).assign_attrs(cube.attrs)))
    assert one_band == {"2024-05-01T00:00:00Z": [[2.0], [4.5]], "2024-05-11T00:00:00Z": [[20.0], [45.0]]}
    series = timeseries_json_to_pandas(one_band)
    assert list(series.loc["2024-05-11T00:00:00Z"]) == [20.0, 45.0]


def test_format_names_and_errors(tmp_path):
    assert output_format("gTiFf").format == "GTiff" and output_format("NetCDF").format == "netCDF"
    assert (output_format("cog").media_type, output_format("jpg").extension) == (
        "image/tiff; application=geotiff; profile=cloud-optimized", "jpg")
    with pytest.raises(ProblemError) as info:
        output_format("bmp")
    assert info.value.code == "FormatUnsupported"
    with pytest.raises(OpenEOError) as info:
        encode_result(raster_cube(), "GeoJSON", {}, tmp_path)
    assert info.value.code == "FormatUnsuitable"
    with pytest.raises(ProblemError) as info:  # options are checked when the plan is made
        encode_result(raster_cube(), "GTiff", {"bogus": 1}, tmp_path)
    assert info.value.code == "ProcessParameterInvalid"
    with pytest.raises(OpenEOError):
        encode_result(3.0, "GTiff", {}, tmp_path)


def test_file_formats_document():
    doc = file_formats()
    assert doc["input"] == {}
    assert set(doc["output"]) == {"GTiff", "netCDF", "ZARR", "PNG", "JPEG", "JSON", "GeoJSON", "CSV"}
    for entry in doc["output"].values():
        assert entry["title"] and entry["gis_data_types"] and isinstance(entry["parameters"], dict)


def test_cog_written_in_memory_equals_the_one_written_by_gdal_to_disk(tmp_path, monkeypatch):
    from executor_svc.encoding import gtiff

    cube = raster_cube(n_t=1, h=40, w=600)  # wider than small_cog's rasters: written by GDAL
    (in_memory,) = encode_result(cube, "GTiff", {}, tmp_path / "a")
    monkeypatch.setattr(gtiff, "IN_MEMORY_LIMIT", 0)
    (on_disk,) = encode_result(cube, "GTiff", {}, tmp_path / "b")
    assert in_memory.path.read_bytes() == on_disk.path.read_bytes()
    with rasterio.open(in_memory.path) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


def test_json_of_zero_dimensional_values_is_the_plain_value():
    import xarray as xr

    from executor_svc.encoding.vector import encode_json

    assert json.loads(encode_json(xr.DataArray(3.0))) == 3.0
    assert json.loads(encode_json(xr.DataArray(np.nan))) is None
    assert json.loads(encode_json(np.array(2))) == 2
    assert json.loads(encode_json(xr.DataArray(np.datetime64("2024-01-02T00:00:00")))) == "2024-01-02T00:00:00Z"
    assert json.loads(encode_json({"a": [np.array(1.5), xr.DataArray(True)]})) == {"a": [1.5, True]}


def test_json_of_arrays_labeled_or_not():
    from executor_svc.encoding.vector import encode_json
    from executor_svc.processes import REGISTRY, ExecutionContext

    labeled = REGISTRY.call("array_create_labeled", {"data": [1, 2.5], "labels": ["a", "b"]}, ExecutionContext())
    assert json.loads(encode_json(labeled)) == {"a": 1, "b": 2.5}
    plain = xr.DataArray([1.0, np.nan], dims=("__array__",))
    assert json.loads(encode_json(plain)) == [1.0, None]


@pytest.mark.parametrize("h, w", [(40, 50), (600, 700)])  # small_cog and GDAL's COG driver
def test_gtiff_statistics_and_names_agree_with_the_stac_metadata(tmp_path, h, w):
    cube = raster_cube(n_t=1, h=h, w=w)
    (encoded,) = encode_result(cube, "GTiff", {}, tmp_path)
    with rasterio.open(encoded.path) as ds:
        assert ds.descriptions == ("B04", "B08")
        file_stats = [ds.tags(i) for i in ds.indexes]
        pixels = ds.read()
    for i, band in enumerate(encoded.metadata.bands):
        assert band.name == ("B04", "B08")[i]
        stats, tags = band.statistics, file_stats[i]
        assert (stats.minimum, stats.maximum, stats.mean, stats.stddev, stats.valid_percent) == (
            float(tags["STATISTICS_MINIMUM"]), float(tags["STATISTICS_MAXIMUM"]), float(tags["STATISTICS_MEAN"]),
            float(tags["STATISTICS_STDDEV"]), float(tags["STATISTICS_VALID_PERCENT"]))
        valid = pixels[i][np.isfinite(pixels[i])].astype(np.float64)
        assert stats.minimum == valid.min() and stats.maximum == valid.max()
        assert stats.mean == pytest.approx(valid.mean(), rel=1e-12) and stats.stddev == pytest.approx(valid.std(), rel=1e-9)


def test_a_result_without_bands_dimension_is_labelled_by_the_plan_not_by_a_node(tmp_path):
    cube = raster_cube(n_t=1, bands=("B04",), h=30, w=30).isel(bands=0, drop=True).rename("load")
    output = output_format("GTiff", {})
    output.band_name = "ndvi"
    (encoded,) = encode_as(cube, output, {}, tmp_path / "a")
    with rasterio.open(encoded.path) as ds:
        assert ds.descriptions == ("ndvi",) and "STATISTICS_MEAN" in ds.tags(1)
    assert [b.name for b in encoded.metadata.bands] == ["ndvi"]
    (unnamed,) = encode_result(cube, "GTiff", {}, tmp_path / "b")  # a plan without band_name
    with rasterio.open(unnamed.path) as ds:
        assert ds.descriptions == ("band",)


def test_most_recent_mosaic_takes_each_pixel_from_its_newest_date_with_data():
    """Tiles of a cube with several dates (issue 20): one image, no ZIP."""
    from executor_svc.encoding.raster import most_recent_mosaic

    t = pd.to_datetime(["2024-06-05", "2024-06-01", "2024-06-03"])  # not in order
    data = np.full((3, 2, 2, 2), np.nan)
    data[1] = 1.0                      # 06-01: everywhere
    data[2, :, 0, 0] = 2.0             # 06-03: top left
    data[0, :, 1, 1] = 3.0             # 06-05: bottom right
    data[0, 0, 0, 1] = 4.0             # 06-05: top right, first band only
    cube = xr.DataArray(data, dims=("t", "bands", "y", "x"),
                        coords={"t": t, "bands": ["a", "b"], "y": [1.5, 0.5], "x": [0.5, 1.5]})
    image = most_recent_mosaic(cube)
    assert image.dims == ("bands", "y", "x") and "t" not in image.coords
    np.testing.assert_array_equal(image.sel(bands="a").values, [[2.0, 4.0], [1.0, 3.0]])
    # all bands of a pixel come from one date: b has no value on 06-05 at the top right
    np.testing.assert_array_equal(image.sel(bands="b").values, [[2.0, np.nan], [1.0, 3.0]])
    one = cube.isel(t=[0])
    assert most_recent_mosaic(one) is one
    empty = xr.full_like(cube, np.nan)
    assert np.isnan(most_recent_mosaic(empty).values).all()
