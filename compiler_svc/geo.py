"""CRS, geometry and openEO spatial-extent helpers (pyproj / shapely), shared by validation and planning."""

from __future__ import annotations

import functools
import math
from typing import Any

import pyproj
import shapely.geometry
from shapely.geometry.base import BaseGeometry

METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LON_EQUATOR = 111_320.0


@functools.lru_cache(maxsize=256)
def _crs_cached(key: Any) -> pyproj.CRS:
    return pyproj.CRS.from_user_input(key)


def crs_from(value: Any) -> pyproj.CRS:
    """A CRS from an EPSG code (int or "EPSG:n"), a WKT2 or PROJ string; ValueError when unknown."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"'{value}' is not a coordinate reference system")
    try:
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return _crs_cached(f"EPSG:{int(value)}")
        if isinstance(value, str):
            return _crs_cached(value)
    except pyproj.exceptions.CRSError:
        pass
    raise ValueError(f"'{value}' is not a known coordinate reference system")


def epsg_of(value: Any) -> int:
    crs = crs_from(value)
    code = crs.to_epsg()
    if code is None:
        raise ValueError(f"the coordinate reference system '{value}' has no EPSG code")
    return int(code)


def is_geographic(epsg: int) -> bool:
    return crs_from(epsg).is_geographic


@functools.lru_cache(maxsize=256)
def _transformer(src: int, dst: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(f"EPSG:{src}", f"EPSG:{dst}", always_xy=True)


def transform_bounds(bounds: tuple[float, float, float, float], src: int, dst: int) -> tuple[float, float, float, float]:
    if src == dst:
        return tuple(bounds)
    return tuple(_transformer(src, dst).transform_bounds(*bounds, densify_pts=21))


def transform_geometry(geom: BaseGeometry, src: int, dst: int) -> BaseGeometry:
    if src == dst:
        return geom
    from shapely.ops import transform

    return transform(_transformer(src, dst).transform, geom)


POLYGONS = ("Polygon", "MultiPolygon")
#: every GeoJSON geometry type but GeometryCollection (handled as a container)
GEOMETRIES = POLYGONS + ("Point", "MultiPoint", "LineString", "MultiLineString")


def geometry_from_geojson(value: Any, kinds: tuple[str, ...] = POLYGONS) -> BaseGeometry:
    """Union of the geometries of the `kinds` types in a GeoJSON geometry, Feature,
    FeatureCollection or GeometryCollection; ValueError for any other type (polygons by default:
    load_collection's extent and mask_polygon take polygons only, aggregate_spatial and
    filter_spatial take any geometry)."""
    if not isinstance(value, dict) or "type" not in value:
        raise ValueError("not a GeoJSON object")
    kind = value["type"]
    geoms = []
    try:
        if kind == "FeatureCollection":
            for f in value.get("features") or []:
                geoms.append(geometry_from_geojson(f, kinds))
        elif kind == "Feature":
            return geometry_from_geojson(value.get("geometry"), kinds)
        elif kind == "GeometryCollection":
            for g in value.get("geometries") or []:
                geoms.append(geometry_from_geojson(g, kinds))
        elif kind in kinds:
            geom = shapely.geometry.shape(value)
            if geom.is_empty:
                raise ValueError("the geometry is empty")
            if not geom.is_valid:
                geom = geom.buffer(0) if kind in POLYGONS else geom
            return geom
        else:
            expected = "Polygon or MultiPolygon" if kinds == POLYGONS else ", ".join(kinds)
            raise ValueError(f"GeoJSON type '{kind}' is not supported here ({expected} expected)")
    except (TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(f"invalid GeoJSON ({exc.__class__.__name__})") from None
    except Exception as exc:  # shapely raises its own errors for bad coordinates
        if isinstance(exc, ValueError):
            raise
        raise ValueError(f"invalid GeoJSON coordinates ({exc.__class__.__name__})") from None
    if not geoms:
        raise ValueError(f"the GeoJSON {kind} contains no " + ("polygons" if kinds == POLYGONS else "geometries"))
    from shapely.ops import unary_union

    return unary_union(geoms)


def metres_to_crs_units(res_m: float, epsg: int, centre_lat: float) -> float:
    """A metre distance in the units of `epsg` at latitude `centre_lat` (for degrees and Web Mercator)."""
    crs = crs_from(epsg)
    if crs.is_geographic:
        return res_m / METRES_PER_DEGREE_LAT
    if epsg == 3857:
        return res_m / max(math.cos(math.radians(centre_lat)), 1e-6)
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return res_m / (factor or 1.0)


def extent_bounds(extent: dict) -> tuple[tuple[float, float, float, float], int, object | None]:
    """(bounds, epsg, shapely geometry or None) of a bounding-box or GeoJSON spatial extent."""
    if "west" in extent:
        crs = extent.get("crs")
        epsg = epsg_of(crs) if crs is not None else 4326
        return _bbox_numbers(extent), epsg, None
    geom = geometry_from_geojson(extent)
    return tuple(geom.bounds), 4326, geom


def _bbox_numbers(extent: dict) -> tuple[float, float, float, float]:
    """(west, south, east, north); ValueError unless all four are finite numbers."""
    values = [extent.get(side) for side in ("west", "south", "east", "north")]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise ValueError("west, south, east and north must be finite numbers")
    return tuple(float(v) for v in values)


def extent_bounds_4326(extent: dict) -> tuple[float, float, float, float]:
    bounds, epsg, _ = extent_bounds(extent)
    return transform_bounds(bounds, epsg, 4326)
