"""Geometry helpers (GeoJSON parsing, reprojection, pixel-centre rasterisation) and mask_polygon."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import shapely
import xarray as xr
from pyproj import CRS, Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from .datacube import require_cube, with_attrs
from .errors import ProcessError
from .registry import process, required


def parse_geometries(value: Any) -> tuple[list[BaseGeometry], list[dict]]:
    """GeoJSON (Feature[Collection], geometry, GeometryCollection), shapely geometries or a vector cube
    -> (geometries, properties). Inputs are assumed to be in EPSG:4326 (GeoJSON)."""
    if isinstance(value, BaseGeometry):
        return [value], [{}]
    if isinstance(value, xr.DataArray) and "geometries" in value.attrs:
        geoms = list(value.attrs["geometries"])
        return geoms, [{} for _ in geoms]
    if isinstance(value, (list, tuple)) and all(isinstance(g, BaseGeometry) for g in value):
        return list(value), [{} for _ in value]
    if not isinstance(value, dict) or "type" not in value:
        raise ProcessError("ProcessParameterInvalid", "Expected GeoJSON geometries.")
    t = value["type"]
    if t == "FeatureCollection":
        geoms, props = [], []
        for f in value.get("features", []):
            g, p = parse_geometries(f)
            geoms += g
            props += p
        return geoms, props
    if t == "Feature":
        if value.get("geometry") is None:
            return [], []
        return [shape(value["geometry"])], [dict(value.get("properties") or {})]
    if t == "GeometryCollection":
        geoms = [shape(g) for g in value.get("geometries", [])]
        return geoms, [{} for _ in geoms]
    try:
        return [shape(value)], [{}]
    except Exception as e:  # noqa: BLE001
        raise ProcessError("ProcessParameterInvalid", f"Invalid GeoJSON geometry: {e}") from e


@lru_cache(maxsize=64)
def _transformer(src: Any, dst: Any) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def reproject_geometry(geom: BaseGeometry, src: Any, dst: Any) -> BaseGeometry:
    if src is None or dst is None or CRS.from_user_input(src) == CRS.from_user_input(dst):
        return geom
    tr = _transformer(src, dst)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def transform_bounds(west: float, south: float, east: float, north: float, src: Any, dst: Any) -> tuple[float, float, float, float]:
    if src is None or dst is None or CRS.from_user_input(src) == CRS.from_user_input(dst):
        return west, south, east, north
    return _transformer(src, dst).transform_bounds(west, south, east, north, densify_pts=21)


def _nearest(axis: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of the nearest coordinate of a sorted (ascending or descending) axis for each value."""
    ascending = len(axis) < 2 or axis[-1] >= axis[0]
    ordered = axis if ascending else axis[::-1]
    right = np.clip(np.searchsorted(ordered, values), 1, max(len(ordered) - 1, 1))
    left = right - 1
    pick = np.where(np.abs(ordered[left] - values) <= np.abs(ordered[np.minimum(right, len(ordered) - 1)] - values),
                    left, np.minimum(right, len(ordered) - 1))
    return pick if ascending else len(axis) - 1 - pick


def _line_pixels(x: np.ndarray, y: np.ndarray, rx: float, ry: float, geom: BaseGeometry) -> np.ndarray:
    """The pixels a line passes through (a point of the line in the pixel: its centre is the closest
    one), burnt by GDAL with all_touched on the cube's grid."""
    from affine import Affine
    from rasterio.features import rasterize

    transform = Affine(float(np.sign(x[-1] - x[0])) * rx, 0.0, float(x[0]) - np.sign(x[-1] - x[0]) * rx / 2,
                       0.0, float(np.sign(y[-1] - y[0])) * ry, float(y[0]) - np.sign(y[-1] - y[0]) * ry / 2)
    burnt = rasterize([(geom, 1)], out_shape=(len(y), len(x)), transform=transform, all_touched=True, dtype="uint8")
    return burnt.astype(bool)


def pixel_mask(x: np.ndarray, y: np.ndarray, geom: BaseGeometry) -> np.ndarray:
    """Boolean (len(y), len(x)) array of the pixels a geometry selects (openEO aggregate_spatial):
    polygons the pixels whose centre intersects them; points the pixel whose centre is closest
    (when inside the raster); lines every pixel whose centre is closest to a point of the line."""
    out = np.zeros((len(y), len(x)), dtype=bool)
    if geom.geom_type not in ("Point", "MultiPoint", "LineString", "MultiLineString", "LinearRing"):
        # only the pixel centres inside the geometry's bounds are tested (a small polygon over a
        # large raster costs its own size, not the raster's)
        minx, miny, maxx, maxy = geom.bounds
        cols = np.flatnonzero((x >= minx) & (x <= maxx))
        rows = np.flatnonzero((y >= miny) & (y <= maxy))
        if len(cols) and len(rows):
            c0, c1, r0, r1 = cols[0], cols[-1] + 1, rows[0], rows[-1] + 1
            xx, yy = np.meshgrid(x[c0:c1], y[r0:r1])
            shapely.prepare(geom)
            out[r0:r1, c0:c1] = shapely.intersects_xy(geom, xx, yy)
        return out
    if len(x) == 0 or len(y) == 0:
        return out
    rx = abs(x[1] - x[0]) if len(x) > 1 else np.inf
    ry = abs(y[1] - y[0]) if len(y) > 1 else np.inf
    if "Line" in geom.geom_type and np.isfinite(rx) and np.isfinite(ry):  # LineString, MultiLineString, LinearRing
        return _line_pixels(x, y, rx, ry, geom)
    pts = shapely.get_coordinates(geom)
    ix, iy = _nearest(x, pts[:, 0]), _nearest(y, pts[:, 1])
    inside = (np.abs(x[ix] - pts[:, 0]) <= rx / 2) & (np.abs(y[iy] - pts[:, 1]) <= ry / 2)
    out[iy[inside], ix[inside]] = True
    return out


def cube_geometries(value: Any, cube: xr.DataArray) -> tuple[list[BaseGeometry], list[BaseGeometry], list[dict]]:
    """(geometries as given, geometries in the cube CRS, properties)."""
    geoms, props = parse_geometries(value)
    src = value.attrs.get("crs", 4326) if isinstance(value, xr.DataArray) else 4326
    return geoms, [reproject_geometry(g, src, cube.attrs.get("crs")) for g in geoms], props


def union_mask(cube: xr.DataArray, geoms: list[BaseGeometry]) -> xr.DataArray:
    x, y = cube.coords["x"].values, cube.coords["y"].values
    m = np.zeros((len(y), len(x)), dtype=bool)
    for g in geoms:
        m |= pixel_mask(x, y, g)
    return xr.DataArray(m, dims=("y", "x"), coords={"y": y, "x": x})


@process("mask_polygon")
def mask_polygon(args: dict, ctx: Any) -> xr.DataArray:
    pid = "mask_polygon"
    data = require_cube(required(args, "data", pid), pid)
    _, geoms, _ = cube_geometries(required(args, "mask", pid), data)
    inside = args.get("inside", False)
    replacement = args.get("replacement")
    m = union_mask(data, geoms)
    keep = m if not inside else ~m
    rep = np.nan if replacement is None else replacement
    return with_attrs(data.where(keep, rep).transpose(*data.dims), data)
