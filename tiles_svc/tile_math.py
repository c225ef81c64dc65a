"""Tile math on top of mercantile (XYZ, not TMS): validation, bounds and extent checks."""

from __future__ import annotations

import mercantile

from backend_common.errors import OpenEOError

MAX_ZOOM = 24


def check_tile(z: int, x: int, y: int) -> mercantile.Tile:
    """The tile, or an openEO 400 error naming what is out of range."""
    if not 0 <= z <= MAX_ZOOM:
        raise OpenEOError("TileInvalid", f"Zoom level {z} is out of range 0..{MAX_ZOOM}.", 400)
    limit = 2**z
    if not (0 <= x < limit and 0 <= y < limit):
        raise OpenEOError("TileInvalid", f"Tile {z}/{x}/{y} does not exist: x and y must be in 0..{limit - 1}.", 400)
    return mercantile.Tile(x, y, z)


def mercator_bounds(tile: mercantile.Tile) -> tuple[float, float, float, float]:
    b = mercantile.xy_bounds(tile)
    return b.left, b.bottom, b.right, b.top


def lonlat_bounds(tile: mercantile.Tile) -> tuple[float, float, float, float]:
    b = mercantile.bounds(tile)
    return b.west, b.south, b.east, b.north


def intersects(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
