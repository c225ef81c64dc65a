"""``featureManifest-<requestId>.gpkg``: the GeoPackage Sentinel Hub writes to the delivery location at
the end of a Batch v2 analysis, one row per output of every tile: one table ``feature_<epsg>`` per CRS
with ``outputId``, ``identifier`` (the tile name), ``path`` (the output's target URI), ``width``,
``height`` and the tile's polygon in that CRS."""
from __future__ import annotations

import os
import tempfile
from collections import defaultdict

import numpy as np
import shapely
from shapely.geometry import box

from .grids import Tile
from .request import FORMAT_EXTENSIONS, TaskRequest

_FIELDS = ["outputId", "identifier", "path", "width", "height"]


def manifest_key(request: TaskRequest, task_id: str) -> str:
    return f"{request.delivery.root()}featureManifest-{task_id}.gpkg"


def feature_manifest_bytes(request: TaskRequest, task_id: str, tiles: list[Tile]) -> bytes:
    import pyogrio.raw

    by_epsg: dict[int, list[tuple]] = defaultdict(list)
    for tile in tiles:
        for ident, fmt in request.responses:
            key = request.delivery.key(task_id, tile.name, tile.id, ident, FORMAT_EXTENSIONS[fmt])
            by_epsg[tile.epsg].append((ident, tile.name, f"s3://{request.delivery.bucket}/{key}", tile.width,
                                       tile.height, box(*tile.bbox)))
    with tempfile.TemporaryDirectory(prefix="manifest-") as tmp:
        path = os.path.join(tmp, "manifest.gpkg")
        for epsg in sorted(by_epsg):
            rows = by_epsg[epsg]
            columns = list(zip(*rows))
            field_data = [np.array(columns[0], dtype=object), np.array(columns[1], dtype=object),
                          np.array(columns[2], dtype=object), np.array(columns[3], dtype=np.int32),
                          np.array(columns[4], dtype=np.int32)]
            pyogrio.raw.write(path, shapely.to_wkb(np.array(columns[5], dtype=object)), field_data, _FIELDS,
                              layer=f"feature_{epsg}", driver="GPKG", geometry_type="Polygon",
                              crs=f"EPSG:{epsg}", append=os.path.exists(path))
        with open(path, "rb") as handle:
            return handle.read()
