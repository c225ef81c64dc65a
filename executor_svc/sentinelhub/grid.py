"""The pixel grid of a Process API request, and splitting it into pixel-aligned sub-requests."""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass

from affine import Affine

from backend_common.errors import OpenEOError

_EPSG_URL = re.compile(r"/EPSG/\d+/(\d+)$")


def epsg_of(crs_url: str | None) -> int:
    """EPSG code of a Sentinel Hub CRS URL (CRS84 → 4326, which SH uses with x = lon first)."""
    if not crs_url or crs_url.rstrip("/").endswith("CRS84"):
        return 4326
    match = _EPSG_URL.search(crs_url.rstrip("/"))
    if not match:
        raise OpenEOError("SentinelHubError", f"Unsupported CRS in the Sentinel Hub request: {crs_url!r}", 400)
    return int(match.group(1))


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


@dataclass(frozen=True)
class PixelGrid:
    """bbox (outer pixel edges, x first), size in pixels and CRS of a request's output raster."""

    minx: float
    miny: float
    maxx: float
    maxy: float
    width: int
    height: int
    epsg: int

    @property
    def res_x(self) -> float:
        return (self.maxx - self.minx) / self.width

    @property
    def res_y(self) -> float:
        return (self.maxy - self.miny) / self.height

    @property
    def transform(self) -> Affine:
        """North-up geotransform: origin (minx, maxy), pixel (res_x, −res_y)."""
        return Affine(self.res_x, 0.0, self.minx, 0.0, -self.res_y, self.maxy)

    @property
    def crs(self) -> str:
        return f"EPSG:{self.epsg}"

    def x_edge(self, col: int) -> float:
        """x of the left edge of pixel column `col` (col == width → maxx exactly)."""
        if col == self.width:
            return self.maxx
        return self.minx + col * self.res_x

    def y_edge(self, row: int) -> float:
        """y of the top edge of pixel row `row` (row 0 = maxy, row == height → miny exactly)."""
        if row == self.height:
            return self.miny
        return self.maxy - row * self.res_y

    @classmethod
    def of_request(cls, request: dict) -> "PixelGrid":
        try:
            bounds = request["input"]["bounds"]
        except (KeyError, TypeError):
            raise OpenEOError("SentinelHubError", "The Sentinel Hub request has no input.bounds.", 400) from None
        epsg = epsg_of((bounds.get("properties") or {}).get("crs"))
        bbox = bounds.get("bbox") or _geometry_bbox(bounds.get("geometry"))
        if bbox is None or len(bbox) != 4:
            raise OpenEOError("SentinelHubError", "The Sentinel Hub request has no usable bbox or geometry.", 400)
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        output = request.get("output") or {}
        if "width" in output or "height" in output:
            width, height = int(output.get("width", 256)), int(output.get("height", 256))
        elif "resx" in output and "resy" in output:
            width = _round_half_up((maxx - minx) / float(output["resx"]))
            height = _round_half_up((maxy - miny) / float(output["resy"]))
        else:
            width, height = 256, 256
        if width < 1 or height < 1 or maxx <= minx or maxy <= miny:
            raise OpenEOError("SentinelHubError", "The Sentinel Hub request describes an empty raster.", 400)
        return cls(minx, miny, maxx, maxy, width, height, epsg)


def _geometry_bbox(geometry: dict | None) -> list[float] | None:
    if not geometry:
        return None
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        else:
            for c in coords:
                walk(c)

    walk(geometry.get("coordinates") or [])
    return [min(xs), min(ys), max(xs), max(ys)] if xs else None


@dataclass(frozen=True)
class Tile:
    """A window of the full grid: rows [row, row + height), columns [col, col + width)."""

    row: int
    col: int
    height: int
    width: int

    def bbox(self, grid: PixelGrid) -> list[float]:
        """Sub-bbox from integer pixel offsets × the full grid's pixel size: exact, seamless edges."""
        return [
            grid.x_edge(self.col),
            grid.y_edge(self.row + self.height),
            grid.x_edge(self.col + self.width),
            grid.y_edge(self.row),
        ]


def _spans(total: int, max_size: int) -> list[tuple[int, int]]:
    """Split `total` px into the fewest near-equal spans of at most `max_size` px: (offset, size)."""
    count = math.ceil(total / max_size)
    base, extra = divmod(total, count)
    spans, offset = [], 0
    for i in range(count):
        size = base + (1 if i < extra else 0)
        spans.append((offset, size))
        offset += size
    return spans


def needs_split(grid: PixelGrid, threshold: int) -> bool:
    return grid.width > threshold or grid.height > threshold


def split_grid(grid: PixelGrid, tile_size: int) -> list[Tile]:
    """Row-major tiles of at most `tile_size` px per side that exactly cover the grid."""
    return [
        Tile(row, col, h, w)
        for row, h in _spans(grid.height, tile_size)
        for col, w in _spans(grid.width, tile_size)
    ]


def sub_request(request: dict, grid: PixelGrid, tile: Tile) -> dict:
    """The request for one tile: same everything, bbox = the tile's pixel-aligned sub-rectangle."""
    sub = copy.deepcopy(request)
    bounds = sub["input"]["bounds"]
    bounds["bbox"] = tile.bbox(grid)
    output = sub.setdefault("output", {})
    output.pop("resx", None)
    output.pop("resy", None)
    output["width"] = tile.width
    output["height"] = tile.height
    return sub
