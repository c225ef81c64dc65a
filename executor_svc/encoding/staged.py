"""A file larger than memory from a dask array: its blocks go into a tiled GeoTIFF beside the
target, which a GDAL driver then copies block by block (COG) or row by row (PNG, JPEG)."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from .blocks import computed_blocks


def write_staged_copy(path, data, *, profile: dict, planes: Callable[[np.ndarray], np.ndarray], driver: str,
                      options: dict, finish: Callable | None = None, parallel: int = 2) -> None:
    """`planes(block)` of every window (all bands) of the dask `data` (bands, rows, cols), computed
    `parallel` at a time, written into a tiled GeoTIFF with `profile` (count, dtype, georeferencing),
    then `finish(staging dataset)` (descriptions, tags), then GDAL's `driver` copies it to `path`
    with `options`. The staging file (and a side-car GDAL may leave) is removed."""
    bands, height, width = data.shape
    staging = f"{os.fspath(path)}.staging.tif"
    profile = {**profile, "driver": "GTiff", "width": width, "height": height, "tiled": True, "blockxsize": 512,
               "blockysize": 512, "compress": "NONE", "BIGTIFF": "IF_SAFER"}
    try:
        with rasterio.Env(GDAL_VALIDATE_CREATION_OPTIONS="NO", QUIET_DELETE_ON_CREATE_COPY="NO"):
            with rasterio.open(staging, "w", **profile) as dst:
                for (_, rows, cols), block in computed_blocks(data.rechunk({0: -1}), parallel=parallel):
                    dst.write(planes(block), window=Window.from_slices(rows, cols))
                if finish is not None:
                    finish(dst)
            with rasterio.open(staging) as source:
                rasterio.shutil.copy(source, os.fspath(path), driver=driver, **options)
    finally:
        for leftover in (staging, f"{os.fspath(path)}.aux.xml"):
            if os.path.exists(leftover):
                os.unlink(leftover)
