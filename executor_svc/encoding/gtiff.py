"""Cloud Optimized GeoTIFF writer (CPU work: run in an executor)."""

from __future__ import annotations

import os

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.crs import CRS
from rasterio.io import MemoryFile

COMPRESSION = {"deflate": "DEFLATE", "lzw": "LZW", "zstd": "ZSTD", "none": "NONE"}

#: Rasters up to this size (both sides) need no overviews (GDAL's COG rule: overviews until the
#: smallest level fits one 512 px block); they get 256 px blocks so that their (at least four)
#: blocks are compressed in parallel.
SMALL_RASTER = 512


#: Rasters up to this many bytes are encoded in memory (GDAL /vsimem/) and written in one go.
IN_MEMORY_LIMIT = 64 * 1024 * 1024


def cog_layout(width: int, height: int, overviews: bool) -> tuple[int, str]:
    """(block size, GDAL OVERVIEWS option) for a raster of this size (pure)."""
    if max(width, height) <= SMALL_RASTER:
        return 256, "NONE"
    return 512, "AUTO" if overviews else "NONE"


def write_cog(
    path: str | os.PathLike,
    data: np.ndarray,
    *,
    transform,
    epsg: int | None,
    band_names: list[str],
    compression: str = "deflate",
    overviews: bool = True,
    nodata: float | None = None,
    tags: dict | None = None,
) -> None:
    """`data` is (bands, rows, cols). Stages an in-memory (GDAL MEM) dataset, then COG-copies it
    to `path` (GDAL's COG driver only creates by copy)."""
    bands, height, width = data.shape
    dtype = data.dtype if data.dtype in (np.float32, np.float64, np.uint8, np.uint16, np.int16, np.int32) else np.float32
    fill = np.nan if nodata is None else nodata
    if nodata is not None and np.issubdtype(data.dtype, np.floating):
        data = np.where(np.isnan(data), np.asarray(nodata, dtype=data.dtype), data)
    blocksize, overview_option = cog_layout(width, height, overviews)
    profile = {
        "driver": "MEM",
        "width": width,
        "height": height,
        "count": bands,
        "dtype": dtype,
        "transform": transform,
        "crs": CRS.from_epsg(epsg) if epsg else None,
        "nodata": fill if np.issubdtype(np.dtype(dtype), np.floating) or nodata is not None else None,
    }
    options = {
        "COMPRESS": COMPRESSION.get(compression, "DEFLATE"),
        "BLOCKSIZE": str(blocksize),
        "OVERVIEWS": overview_option,
        "OVERVIEW_RESAMPLING": "AVERAGE",
        "BIGTIFF": "IF_SAFER",
        "NUM_THREADS": "2",
        "STATISTICS": "NO",
    }
    if options["COMPRESS"] == "DEFLATE":
        # Level 3 is within a few percent of the default level's size at about 70 % of its time.
        options["LEVEL"] = "3"
    if options["COMPRESS"] != "NONE" and not np.issubdtype(np.dtype(dtype), np.floating):
        # Horizontal differencing helps integer rasters; for float32 reflectances and indices the
        # floating-point predictor made files larger and slower in our measurements.
        options["PREDICTOR"] = "2"
    # One GDAL environment for the whole write; our creation options are fixed (and tested), so
    # GDAL need not validate them: for the COG driver that means parsing every tile matrix set
    # and its CRS on each call, a third of a small raster's encoding time.
    with rasterio.Env(GDAL_VALIDATE_CREATION_OPTIONS="NO", QUIET_DELETE_ON_CREATE_COPY="NO"):
        _write_cog(path, data.astype(dtype, copy=False), profile, options, band_names, tags)


def _write_cog(path, data: np.ndarray, profile: dict, options: dict, band_names: list[str], tags: dict | None) -> None:
    # rasterio needs a name for a MEM dataset; it is not a file.
    with rasterio.open("staging", "w", **profile) as staging:
        _fill(staging, data, band_names, tags)
        if data.nbytes > IN_MEMORY_LIMIT:
            rasterio.shutil.copy(staging, os.fspath(path), driver="COG", **options)
            return
        # GDAL's many small writes and seeks go to memory; the file gets one write
        with MemoryFile() as encoded:
            rasterio.shutil.copy(staging, encoded.name, driver="COG", **options)
            content = encoded.read()
    with open(path, "wb") as handle:
        handle.write(content)


def _fill(dst, data: np.ndarray, band_names: list[str], tags: dict | None) -> None:
    dst.write(data)
    for i, name in enumerate(band_names, start=1):
        dst.set_band_description(i, name)
    if tags:
        dst.update_tags(**{k: str(v) for k, v in tags.items()})
