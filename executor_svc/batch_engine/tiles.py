"""One tile delivered by the Batch API as the plan's load cube: the tile's grid (from its GeoTIFF)
replaces the load's, so the rest of the graph runs on that tile as on a small load (pure)."""

from __future__ import annotations

import json
import warnings

import rasterio
from rasterio.errors import NotGeoreferencedWarning

from backend_common.errors import OpenEOError
from backend_proto.v1 import compiler_pb2
from executor_svc.loading.cube import cube_from_raster
from executor_svc.loading.fetch import LoadedCube


def tile_plan(plan, west: float, south: float, east: float, north: float, epsg: int, width: int, height: int):
    """The plan with its load on the tile's grid, for the evaluator (no Batch API part left)."""
    out = compiler_pb2.ExecutionPlan()
    out.CopyFrom(plan)
    out.ClearField("batch_api")
    load = out.loads[0]
    load.bbox.CopyFrom(compiler_pb2.BoundingBox(west=west, south=south, east=east, north=north, epsg=epsg))
    load.width, load.height = width, height
    load.geometry_json = ""
    return out


def _georeferenced_fast(tiff: bytes):
    """(data, nodata, bounds, epsg) read with tifffile (several times faster than a GDAL dataset) for a
    plain north-up GeoTIFF with an EPSG code; None for anything else (rasterio reads it)."""
    import io

    import tifffile

    from executor_svc.sentinelhub.decode import decode_image

    try:
        with tifffile.TiffFile(io.BytesIO(tiff)) as tf:
            geo = tf.geotiff_metadata or {}
            page = tf.pages[0]
            width, height = int(page.imagewidth), int(page.imagelength)
        code = geo.get("ProjectedCSTypeGeoKey") or geo.get("GeographicTypeGeoKey")
        scale, tie = geo.get("ModelPixelScale"), geo.get("ModelTiepoint")
        if code is None or int(code) in (0, 32767) or not scale or not tie or any(tie[:3]) or "ModelTransformation" in geo:
            return None
        if int(geo.get("GTRasterTypeGeoKey", 1)) != 1:  # pixel-is-point shifts the grid by half a pixel
            return None
        data, nodata = decode_image(tiff)
    except Exception:  # noqa: BLE001 - unusual layout: rasterio decides
        return None
    left, top = float(tie[3]), float(tie[4])
    bounds = (left, top - height * float(scale[1]), left + width * float(scale[0]), top)
    return data, nodata, bounds, int(code)


def tile_load(plan, tiff: bytes, userdata: bytes, tile_name: str):
    """(the tile's plan, its LoadedCube) from the delivered `default.tif` and `userdata.json`."""
    fast = _georeferenced_fast(tiff)
    if fast is not None:
        data, nodata, (left, bottom, right, top), epsg = fast
        width, height = data.shape[-1], data.shape[-2]
        meta = json.loads(userdata or b"null")
        plan_t = tile_plan(plan, left, bottom, right, top, epsg, width, height)
        load = plan_t.loads[0]
        return plan_t, LoadedCube(load.node_id, load.result_node_id or load.node_id,
                                  cube_from_raster(data, meta, load, nodata), 0.0, 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.MemoryFile(tiff) as mem, mem.open() as ds:
                data, nodata = ds.read(), ds.nodata
                left, bottom, right, top = ds.bounds
                epsg = ds.crs.to_epsg() if ds.crs else None
                width, height = ds.width, ds.height
        meta = json.loads(userdata or b"null")
    except (rasterio.errors.RasterioError, ValueError) as exc:
        raise OpenEOError("SentinelHubError", f"Sentinel Hub delivered an unreadable tile {tile_name}: {exc}",
                          502) from None
    if epsg is None:
        raise OpenEOError("SentinelHubError", f"Sentinel Hub delivered tile {tile_name} without a CRS.", 502)
    plan_t = tile_plan(plan, left, bottom, right, top, epsg, width, height)
    load = plan_t.loads[0]
    cube = cube_from_raster(data, meta, load, nodata)
    return plan_t, LoadedCube(load.node_id, load.result_node_id or load.node_id, cube, 0.0, 1)
