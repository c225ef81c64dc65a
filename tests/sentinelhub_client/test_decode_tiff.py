"""TIFF decoding: the tifffile path must give exactly what GDAL (rasterio) reads, for the layouts
Sentinel Hub and the emulator produce, and fall back to rasterio for anything else."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.io import MemoryFile
from rasterio.transform import from_origin

from executor_svc.sentinelhub import decode


def tiff_bytes(data: np.ndarray, **profile) -> bytes:
    bands, height, width = data.shape
    base = {"driver": "GTiff", "width": width, "height": height, "count": bands, "dtype": data.dtype,
            "transform": from_origin(500000, 5000000, 10, 10), "crs": "EPSG:32633"}
    base.update(profile)
    with MemoryFile() as memfile:
        with memfile.open(**base) as dst:
            dst.write(data)
        return memfile.read()


def gdal_read(content: bytes):
    with MemoryFile(content) as memfile, memfile.open() as ds:
        return ds.read(), ds.nodata


RNG = np.random.default_rng(7)
CASES = {
    "float32 one band": (RNG.random((1, 33, 47)).astype(np.float32), {}),
    "float32 three bands planar": (RNG.random((3, 20, 30)).astype(np.float32), {"interleave": "band"}),
    "uint16 four bands pixel-interleaved": (RNG.integers(0, 10000, (4, 16, 24)).astype(np.uint16), {"interleave": "pixel"}),
    "uint8 deflate tiled": (RNG.integers(0, 255, (2, 64, 48)).astype(np.uint8),
                            {"compress": "deflate", "tiled": True, "blockxsize": 16, "blockysize": 16}),
    "float32 nodata nan": (np.full((1, 8, 8), np.nan, dtype=np.float32), {"nodata": np.nan}),
    "uint16 nodata 0": (RNG.integers(0, 3, (2, 10, 10)).astype(np.uint16), {"nodata": 0}),
    "float32 lzw predictor": (RNG.random((2, 40, 40)).astype(np.float32), {"compress": "lzw", "predictor": 3}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_tifffile_path_equals_gdal(name):
    data, profile = CASES[name]
    content = tiff_bytes(data, **profile)
    got, nodata = decode.decode_image(content)
    expected, expected_nodata = gdal_read(content)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    if expected_nodata is None:
        assert nodata is None
    elif np.isnan(expected_nodata):
        assert nodata is not None and np.isnan(nodata)
    else:
        assert nodata == expected_nodata


def test_plain_float_tiff_is_read_by_tifffile_not_gdal(monkeypatch):
    content = tiff_bytes(RNG.random((1, 16, 16)).astype(np.float32))
    assert decode._tiff_array(content) is not None

    def no_gdal(*_args, **_kwargs):
        raise AssertionError("rasterio used")

    monkeypatch.setattr(rasterio, "MemoryFile", no_gdal)
    data, nodata = decode.decode_image(content)
    assert data.shape == (1, 16, 16) and nodata is None


def test_png_and_broken_tiff_go_to_rasterio():
    with MemoryFile() as memfile:
        with memfile.open(driver="PNG", width=4, height=3, count=1, dtype="uint8") as dst:
            dst.write(np.arange(12, dtype=np.uint8).reshape(1, 3, 4))
        png = memfile.read()
    data, _ = decode.decode_image(png)
    np.testing.assert_array_equal(data[0], np.arange(12).reshape(3, 4))
    assert decode._tiff_array(b"II*\x00garbage") is None
    with pytest.raises(rasterio.errors.RasterioError):
        decode.decode_image(b"II*\x00garbage")
