"""small_cog: COGs of rasters up to 512 px written with tifffile must be valid COGs that read back
exactly as GDAL's COG driver's file of the same raster (pixels, grid, CRS, band names, no-data,
tags, data type, blocks, interleaving, compression), and anything it does not cover must go on
to GDAL."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from rio_cogeo.cogeo import cog_validate

from executor_svc.encoding import gtiff
from executor_svc.encoding.small_cog import gdal_metadata, geo_keys, nodata_text, small_cog

UTM = Affine(10, 0, 500000, 0, -10, 5200000)
DEGREES = Affine(0.0001, 0, 14.0, 0, -0.0001, 46.0)
#: TIFF baseline tags tifffile always writes (GDAL shows them as metadata); nothing else differs
BASELINE_TAGS = {"TIFFTAG_XRESOLUTION", "TIFFTAG_YRESOLUTION", "TIFFTAG_RESOLUTIONUNIT"}


def raster(bands: int, height: int, width: int, dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = np.add.outer(np.arange(height), np.arange(width)) / (height + width)
    data = smooth[np.newaxis] * (np.arange(bands)[:, None, None] + 1) * 100 + rng.random((bands, height, width))
    data = data.astype(dtype)
    if np.issubdtype(data.dtype, np.floating):
        data[:, :7, :9] = np.nan
    return data


def read(path) -> dict:
    with rasterio.open(path) as ds:
        return {"pixels": ds.read(), "crs": ds.crs, "transform": ds.transform, "descriptions": ds.descriptions,
                "nodata": ds.nodata, "tags": {k: v for k, v in ds.tags().items() if k not in BASELINE_TAGS},
                "band_tags": [ds.tags(i) for i in ds.indexes],
                "dtypes": ds.dtypes, "blocks": ds.block_shapes, "overviews": ds.overviews(1),
                "interleave": ds.interleaving, "compression": ds.compression,
                "predictor": ds.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR"), "size": (ds.width, ds.height)}


def both(tmp_path, monkeypatch, data, **kwargs) -> tuple[dict, dict]:
    """(small_cog's file, GDAL's file) of `write_cog(data, **kwargs)`, both checked as COGs."""
    fast, slow = tmp_path / "fast.tif", tmp_path / "gdal.tif"
    gtiff.write_cog(fast, data, **kwargs)
    with monkeypatch.context() as m:
        m.setattr(gtiff, "small_cog", lambda *a, **k: None)
        gtiff.write_cog(slow, data, **kwargs)
    assert fast.read_bytes() != slow.read_bytes()  # really two writers
    for path in (fast, slow):
        assert cog_validate(str(path)) == (True, [], [])
    return read(fast), read(slow)


def assert_same(a: dict, b: dict) -> None:
    np.testing.assert_array_equal(a.pop("pixels"), b.pop("pixels"))  # NaN where NaN
    na, nb = a.pop("nodata"), b.pop("nodata")
    assert (na is None and nb is None) or na == nb or (np.isnan(na) and np.isnan(nb))
    assert a == b


@pytest.mark.parametrize("epsg, transform", [(32633, UTM), (32733, UTM), (3857, UTM), (3035, UTM), (27700, UTM),
                                             (4326, DEGREES), (4258, DEGREES), (None, UTM)])
def test_grid_and_crs_read_back_as_gdal_writes_them(tmp_path, monkeypatch, epsg, transform):
    data = raster(1, 300, 512, "float32")
    a, b = both(tmp_path, monkeypatch, data, transform=transform, epsg=epsg, band_names=["NDVI"],
                tags={"datetime": "2024-06-05T00:00:00Z"})
    assert a["crs"] == (rasterio.crs.CRS.from_epsg(epsg) if epsg else None)
    assert a["transform"] == transform and a["blocks"] == [(256, 256)] and a["overviews"] == []
    assert_same(a, b)


@pytest.mark.parametrize("bands, dtype, nodata", [(1, "float32", None), (3, "float32", -1), (2, "float32", 0.5),
                                                  (2, "uint16", 0), (1, "uint8", None), (2, "int16", -9999),
                                                  (1, "float64", None), (4, "int32", None),
                                                  (2, "uint32", 4294967295)])
def test_bands_types_and_nodata_read_back_as_gdal_writes_them(tmp_path, monkeypatch, bands, dtype, nodata):
    data = raster(bands, 200, 130, dtype)
    a, b = both(tmp_path, monkeypatch, data, transform=UTM, epsg=32633, band_names=[f"b{i}" for i in range(bands)],
                nodata=nodata)
    assert a["descriptions"] == tuple(f"b{i}" for i in range(bands))
    assert_same(a, b)


@pytest.mark.parametrize("compression", ["deflate", "lzw", "zstd", "none", "DEFLATE"])
def test_every_compression_option_reads_back_as_gdal_writes_it(tmp_path, monkeypatch, compression):
    for dtype in ("float32", "uint16"):  # integer rasters get the horizontal predictor when compressed
        a, b = both(tmp_path, monkeypatch, raster(2, 256, 257, dtype), transform=UTM, epsg=32633,
                    band_names=["a", "b"], compression=compression)
        assert_same(a, b)


def test_file_is_one_ifd_then_the_tiles_in_order():
    import io

    import tifffile

    made = small_cog(raster(2, 512, 512, "float32"), transform=UTM, epsg=32633, band_names=["a", "b"], nodata=np.nan)
    with tifffile.TiffFile(io.BytesIO(made)) as tif:
        assert len(tif.pages) == 1
        page = tif.pages[0]
        assert page.offset == 8 and page.is_tiled and (page.tilewidth, page.tilelength) == (256, 256)
        offsets = list(page.dataoffsets)
        assert len(offsets) == 4 and offsets == sorted(offsets) and offsets[0] > page.offset
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE


def test_geo_keys():
    assert geo_keys(None) == ()
    assert geo_keys(32633) == (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633)
    assert geo_keys(4326) == (1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326)
    assert geo_keys(4979) is None  # 3D geographic
    assert geo_keys(5972) is None  # compound (projected + height)
    assert geo_keys(4978) is None  # geocentric
    assert geo_keys(99999) is None and geo_keys(70000) is None and geo_keys(-1) is None


def test_what_small_cog_does_not_cover_goes_to_gdal(tmp_path):
    one = raster(1, 40, 40, "float32")
    kwargs = {"epsg": 32633, "band_names": ["x"]}
    assert small_cog(raster(1, 40, 513, "float32"), transform=UTM, **kwargs) is None
    assert small_cog(one, transform=Affine(10, 1, 500000, 0, -10, 5200000), **kwargs) is None  # rotated
    assert small_cog(one, transform=Affine(10, 0, 500000, 0, 10, 5200000), **kwargs) is None  # south-up
    assert small_cog(one, transform=UTM, epsg=4979, band_names=["x"]) is None
    assert small_cog(one, transform=UTM, compression="jpeg", **kwargs) is None
    assert small_cog(one, transform=UTM, epsg=32633, band_names=["x", "y"]) is None
    many = np.zeros((65, 512, 512), dtype=np.float32)  # 65 MiB of pixels, e.g. time_as_bands
    assert small_cog(many, transform=UTM, epsg=32633, band_names=[str(i) for i in range(65)]) is None
    # GDAL writes them: a large raster gets overviews and GDAL's COG layout
    path = tmp_path / "large.tif"
    gtiff.write_cog(path, raster(1, 600, 700, "float32"), transform=UTM, epsg=32633, band_names=["x"])
    with rasterio.open(path) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG" and ds.overviews(1)
    south_up = tmp_path / "south_up.tif"
    gtiff.write_cog(south_up, one, transform=Affine(10, 0, 500000, 0, 10, 5200000), epsg=32633, band_names=["x"])
    with rasterio.open(south_up) as ds:
        assert ds.transform.e == 10


def test_metadata_texts():
    xml = gdal_metadata(['a<b & "c"'], {"datetime": "2024-06-05T00:00:00Z", 'k"<': "v&"})
    assert '<Item name="datetime">2024-06-05T00:00:00Z</Item>' in xml
    assert '<Item name="DESCRIPTION" sample="0" role="description">a&lt;b &amp; "c"</Item>' in xml
    assert '<Item name=\'k"&lt;\'>v&amp;</Item>' in xml
    assert nodata_text(np.nan) == "nan" and nodata_text(-1) == "-1" and nodata_text(0.5) == "0.5"
    assert nodata_text(-9999.0) == "-9999"


@pytest.mark.parametrize("dtype, nodata", [("float32", None), ("float32", -1), ("int16", -9999), ("uint8", None)])
def test_both_writers_store_gdal_statistics_of_the_valid_pixels(tmp_path, monkeypatch, dtype, nodata):
    data = raster(2, 300, 260, dtype)
    if nodata is not None:
        data[:, 100:110, :] = nodata  # real no-data pixels: not counted
    a, b = both(tmp_path, monkeypatch, data, transform=UTM, epsg=32633, band_names=["red", "nir"], nodata=nodata)
    assert a["descriptions"] == ("red", "nir")
    for band, tags in enumerate(a["band_tags"]):
        values = data[band].astype(np.float64)
        valid = values[np.isfinite(values) & (values != (nodata if nodata is not None else np.nan))]
        assert float(tags["STATISTICS_MINIMUM"]) == valid.min()
        assert float(tags["STATISTICS_MAXIMUM"]) == valid.max()
        assert float(tags["STATISTICS_MEAN"]) == pytest.approx(valid.mean(), rel=1e-12)
        assert float(tags["STATISTICS_STDDEV"]) == pytest.approx(valid.std(), rel=1e-9)
        assert float(tags["STATISTICS_VALID_PERCENT"]) == pytest.approx(100 * valid.size / values.size, abs=1e-3)
    assert_same(a, b)  # the GDAL file carries the same items


def test_a_band_without_valid_pixels_has_no_statistics(tmp_path, monkeypatch):
    data = raster(2, 64, 64, "float32")
    data[1] = np.nan
    a, b = both(tmp_path, monkeypatch, data, transform=UTM, epsg=32633, band_names=["x", "empty"])
    assert "STATISTICS_MEAN" in a["band_tags"][0] and not any(k.startswith("STATISTICS") for k in a["band_tags"][1])
    assert_same(a, b)
