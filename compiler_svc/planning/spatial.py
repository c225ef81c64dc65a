"""Output grids: bounds + CRS, resolution in CRS units, width and height."""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely

from compiler_svc import geo


@dataclass
class Grid:
    west: float
    south: float
    east: float
    north: float
    epsg: int
    width: int
    height: int
    geometry: dict | None = None  # GeoJSON in `epsg`


def centre_latitude(bounds, epsg: int) -> float:
    w, s, e, n = geo.transform_bounds(bounds, epsg, 4326) if epsg != 4326 else bounds
    return (s + n) / 2.0


def size_for(bounds, epsg: int, res_x: float, res_y: float) -> tuple[int, int]:
    """Pixels across bounds for a resolution in CRS units (at least 1)."""
    w, s, e, n = bounds
    return max(1, int(math.floor((e - w) / res_x + 0.5))), max(1, int(math.floor((n - s) / res_y + 0.5)))


def size_for_metres(bounds, epsg: int, res_m: float) -> tuple[int, int]:
    """Pixels across bounds for a resolution in metres, whatever the CRS units are.

    Geographic CRS: the east-west distance is taken at the centre latitude (so a 10 m request over a
    1°×1° box at 45°N gives ~7871 × 11057 pixels); Web Mercator is scaled by 1/cos(lat).
    """
    lat = centre_latitude(bounds, epsg)
    if geo.is_geographic(epsg):
        w, s, e, n = bounds
        width_m = (e - w) * geo.METRES_PER_DEGREE_LON_EQUATOR * max(math.cos(math.radians(lat)), 1e-6)
        height_m = (n - s) * geo.METRES_PER_DEGREE_LAT
        return max(1, int(math.floor(width_m / res_m + 0.5))), max(1, int(math.floor(height_m / res_m + 0.5)))
    res = geo.metres_to_crs_units(res_m, epsg, lat)
    return size_for(bounds, epsg, res, res)


def clipped_geometry(geom, epsg: int, area: tuple[float, float, float, float]):
    """A load's polygon (in `epsg`) cut to `area` (WGS84 bounds): what a later filter keeps of it.
    The polygon itself when they do not overlap in an area (the executor's filter then finds no data)."""
    box = shapely.box(*(geo.transform_bounds(area, 4326, epsg) if epsg != 4326 else area))
    cut = geom.intersection(box)
    if cut.is_empty or cut.geom_type not in geo.POLYGONS:
        return geom
    return cut


def cropped(grid: Grid, area: tuple[float, float, float, float]) -> Grid:
    """The grid cut to the whole pixels that cover `area` (WGS84 bounds): same pixel size and
    alignment, fewer pixels; the grid itself when that saves nothing or misses the area (pure)."""
    px = (grid.east - grid.west) / grid.width
    py = (grid.north - grid.south) / grid.height
    w, s, e, n = geo.transform_bounds(area, 4326, grid.epsg) if grid.epsg != 4326 else area
    c0, c1 = max(0, math.floor((w - grid.west) / px)), min(grid.width, math.ceil((e - grid.west) / px))
    r0, r1 = max(0, math.floor((grid.north - n) / py)), min(grid.height, math.ceil((grid.north - s) / py))
    if c0 >= c1 or r0 >= r1 or (c0, c1, r0, r1) == (0, grid.width, 0, grid.height):
        return grid
    return Grid(grid.west + c0 * px, grid.north - r1 * py, grid.west + c1 * px, grid.north - r0 * py, grid.epsg,
                c1 - c0, r1 - r0, grid.geometry)
