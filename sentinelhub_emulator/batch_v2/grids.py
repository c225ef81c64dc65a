"""Sentinel Hub's batch tiling grids (reference §5.2 table) and the tiles of a grid that cover an area.

Pure functions. UTM grids (0-2) tile each UTM zone on multiples of the tile size from the zone's
false origin and deliver every tile in its own zone; the emulator names them
``<zone><N|S>_<column>_<row>`` (Sentinel Hub's MGRS-derived names are not reproduced: clients use the
name only as a path part). Grid 3 tiles WGS84 in whole degrees, grids 6/7 tile EPSG:3035.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyproj import Transformer
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry
import shapely


@dataclass(frozen=True)
class Grid:
    id: int
    name: str
    tile_size: float
    resolutions: tuple[float, ...]
    unit: str  # METRE | DEGREE
    kind: str  # utm | wgs84 | laea
    lat_limit: float = 90.0

    def descriptor(self) -> dict:
        size = int(self.tile_size) if self.unit == "METRE" else self.tile_size
        return {"id": self.id, "name": self.name,
                "properties": {"tileWidth": size, "tileHeight": size,
                               "resolutions": [r if self.unit == "DEGREE" else int(r) if r == int(r) else r
                                               for r in self.resolutions],
                               "unit": self.unit}}


GRIDS: dict[int, Grid] = {g.id: g for g in (
    Grid(0, "UTM 20km grid", 20040.0, (10.0, 20.0, 30.0, 60.0), "METRE", "utm", 80.7),
    Grid(1, "UTM 10km grid", 10000.0, (10.0, 20.0), "METRE", "utm", 80.6),
    Grid(2, "UTM 100km grid", 100080.0, (30.0, 60.0, 120.0, 240.0, 360.0), "METRE", "utm", 81.0),
    Grid(3, "WGS84 1 degree grid", 1.0, (0.0001, 0.0002), "DEGREE", "wgs84"),
    Grid(6, "LAEA 100km grid", 100000.0, (40.0, 50.0, 100.0), "METRE", "laea"),
    Grid(7, "LAEA 20km grid", 20000.0, (10.0, 20.0), "METRE", "laea"),
)}

# Europe as Sentinel Hub's LAEA grids cover it (with Turkey, Iceland, Svalbard, Azores, Canaries), in WGS84
LAEA_COVERAGE = box(-32.0, 26.0, 46.0, 84.0)


@dataclass(frozen=True)
class Tile:
    id: int
    name: str
    epsg: int
    bbox: tuple[float, float, float, float]  # in `epsg`, including the buffer
    width: int
    height: int


def resolution_allowed(grid: Grid, resolution: float) -> bool:
    return any(math.isclose(resolution, r, rel_tol=1e-9) for r in grid.resolutions)


def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{src}", f"EPSG:{dst}", always_xy=True)


def _densified(geom: BaseGeometry, src: int, dst: int) -> BaseGeometry:
    if src == dst:
        return geom
    geom = geom.segmentize(max(geom.bounds[2] - geom.bounds[0], geom.bounds[3] - geom.bounds[1]) / 32 or 1.0)
    return shapely.transform(geom, lambda xy: np.column_stack(_transformer(src, dst).transform(xy[:, 0], xy[:, 1])))


def _cells(area: BaseGeometry, size: float) -> list[tuple[int, int]]:
    minx, miny, maxx, maxy = area.bounds
    out = []
    for row in range(math.floor(miny / size), math.ceil(maxy / size)):
        for col in range(math.floor(minx / size), math.ceil(maxx / size)):
            cell = box(col * size, row * size, (col + 1) * size, (row + 1) * size)
            if cell.intersects(area) and not cell.touches(area):
                out.append((col, row))
    return out


def _utm_zones(area_wgs84: BaseGeometry, lat_limit: float) -> list[tuple[int, bool, BaseGeometry]]:
    minx, _, maxx, _ = area_wgs84.bounds
    zones = []
    for zone in range(max(1, math.floor((minx + 180) / 6) + 1), min(60, math.floor((maxx + 180) / 6) + 1) + 1):
        west = -180 + (zone - 1) * 6
        for north, band in ((True, box(west, 0, west + 6, lat_limit)), (False, box(west, -lat_limit, west + 6, 0))):
            part = area_wgs84.intersection(band)
            if not part.is_empty and part.area > 0:
                zones.append((zone, north, part))
    return zones


def tiles_for(grid: Grid, resolution: float, area: BaseGeometry, area_epsg: int,
              buffer_x: int = 0, buffer_y: int = 0, limit: int = 1_000_000) -> list[Tile]:
    """The grid's tiles intersecting ``area`` (a polygon in ``area_epsg``), in a stable order."""
    wgs = _densified(area, area_epsg, 4326)
    px = round(grid.tile_size / resolution)
    parts: list[tuple[int, str, BaseGeometry]] = []
    if grid.kind == "utm":
        for zone, north, part in _utm_zones(wgs, grid.lat_limit):
            epsg = (32600 if north else 32700) + zone
            parts.append((epsg, f"{zone:02d}{'N' if north else 'S'}", _densified(part, 4326, epsg)))
    elif grid.kind == "laea":
        part = wgs.intersection(LAEA_COVERAGE)
        if not part.is_empty:
            parts.append((3035, "E", _densified(part, 4326, 3035)))
    else:
        parts.append((4326, "W", wgs))
    tiles: list[Tile] = []
    for epsg, prefix, part in parts:
        for col, row in _cells(part, grid.tile_size):
            bx, by = buffer_x * resolution, buffer_y * resolution
            bbox = (col * grid.tile_size - bx, row * grid.tile_size - by,
                    (col + 1) * grid.tile_size + bx, (row + 1) * grid.tile_size + by)
            tiles.append(Tile(len(tiles), f"{prefix}_{col}_{row}", epsg, bbox, px + 2 * buffer_x, px + 2 * buffer_y))
            if len(tiles) > limit:
                raise ValueError(f"The area needs more than {limit} tiles of grid {grid.id}.")
    return tiles


def area_polygon(bbox: tuple[float, float, float, float], geometry: dict | None) -> BaseGeometry:
    if geometry is not None:
        from shapely.geometry import shape

        return shape(geometry)
    return Polygon.from_bounds(*bbox)
