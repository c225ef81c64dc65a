"""The one check of XYZ tile coordinates, shared by the gateway (to refuse before any hop) and
tiles_svc (for any caller)."""

from __future__ import annotations

from backend_common.errors import OpenEOError

#: Deepest zoom served: about 2 cm per pixel at the equator, far below any collection's resolution.
MAX_ZOOM = 24


def check_tile(z: int, x: int, y: int) -> tuple[int, int, int]:
    """(z, x, y), or an openEO 400 error (`TileInvalid`) naming what is out of range."""
    if not 0 <= z <= MAX_ZOOM:
        raise OpenEOError("TileInvalid", f"Zoom level {z} is out of range 0..{MAX_ZOOM}.", 400)
    limit = 2**z
    if not (0 <= x < limit and 0 <= y < limit):
        raise OpenEOError("TileInvalid", f"Tile {z}/{x}/{y} does not exist: x and y must be in 0..{limit - 1}.", 400)
    return z, x, y
