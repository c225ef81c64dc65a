"""Tile math on top of mercantile (XYZ, not TMS): validation, bounds and extent checks."""

from __future__ import annotations

import mercantile

from backend_common import tile_coordinates


def check_tile(z: int, x: int, y: int) -> mercantile.Tile:
    """The tile, or an openEO 400 error naming what is out of range (`backend_common.tile_coordinates`)."""
    tile_coordinates.check_tile(z, x, y)
    return mercantile.Tile(x, y, z)


def mercator_bounds(tile: mercantile.Tile) -> tuple[float, float, float, float]:
    b = mercantile.xy_bounds(tile)
    return b.left, b.bottom, b.right, b.top


def lonlat_bounds(tile: mercantile.Tile) -> tuple[float, float, float, float]:
    b = mercantile.bounds(tile)
    return b.west, b.south, b.east, b.north


def intersects(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
