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


def pixel_mask(x: np.ndarray, y: np.ndarray, geom: BaseGeometry) -> np.ndarray:
    """Boolean (len(y), len(x)) array: pixel centre inside (or on the boundary of) ``geom``.

    Points / lines select the pixels whose cell contains them (nearest centre).
    """
    xx, yy = np.meshgrid(x, y)
    if geom.geom_type in ("Point", "MultiPoint", "LineString", "MultiLineString"):
        out = np.zeros(xx.shape, dtype=bool)
        pts = [geom] if geom.geom_type == "Point" else (
            list(getattr(geom, "geoms", [])) if geom.geom_type == "MultiPoint" else
            [shapely.Point(c) for c in shapely.get_coordinates(geom)])
        for p in pts:
            if len(x) == 0 or len(y) == 0:
                break
            ix, iy = int(np.abs(x - p.x).argmin()), int(np.abs(y - p.y).argmin())
            rx = abs(x[1] - x[0]) if len(x) > 1 else np.inf
            ry = abs(y[1] - y[0]) if len(y) > 1 else np.inf
            if abs(x[ix] - p.x) <= rx / 2 and abs(y[iy] - p.y) <= ry / 2:
                out[iy, ix] = True
        return out
    return shapely.intersects_xy(geom, xx, yy)


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
