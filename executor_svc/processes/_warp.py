"""GDAL warping of numpy planes (through rasterio), on a whole grid or on one destination block
from only the source window it needs; both give the same values.

Two GDAL defaults make a warp depend on how its destination is cut, so both are overridden on
every warp:
- `rasterio.warp.reproject` always wraps the transformer in GDAL's approximate transformer
  (0.125 px error), which interpolates source positions linearly between nodes placed along each
  destination row of the warped region: a block's nodes are not the whole grid's, so cross-CRS
  values differ (by up to the 0.125 px shift). A `WarpedVRT` with a tolerance of 1e-9 px transforms
  every pixel exactly (rasterio 1.4 fails on `tolerance=0` with an explicit transform).
- GDAL derives the resampling kernel's scale (how much bilinear/cubic/lanczos widen when
  downsampling) per warp chunk from the chunk's integer source window; the XSCALE / YSCALE warp
  options fix it to the grids' ratio instead.
"""

from __future__ import annotations

import math

import numpy as np
from affine import Affine
from rasterio.crs import CRS as RioCRS
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds

#: a tolerance small enough that GDAL's approximate transformer transforms each pixel exactly
EXACT = 1e-9
#: source pixels a kernel reaches from a destination pixel's position (at scale 1), plus one
_KERNEL_MARGIN = {Resampling.nearest: 1, Resampling.bilinear: 2, Resampling.cubic: 3,
                  Resampling.cubic_spline: 3, Resampling.lanczos: 4}
#: with the other methods (average, mode, min, max, med, q1, q3, sum, rms) a destination pixel
#: reads its whole footprint: the margin is twice the scale ratio plus this many pixels
_FOOTPRINT_MARGIN = 2
#: GDAL's `sum` changes when the source holds between 3 and ~11 % more pixels (per axis) than the
#: block's footprint (measured: a 512 px footprint read from a 515-568 px window is off by up to
#: 0.06 per value; 512-514 px or 569+ px give the whole-grid values): sum windows are widened by
#: this fraction of the footprint on each side
_SUM_SLACK = 0.125
_MAX_PLANES = 65535


def _footprint(src_transform: Affine, src_crs: RioCRS, dst_transform: Affine, dst_crs: RioCRS,
               width: int, height: int) -> tuple[float, float, float, float] | None:
    """(col0, col1, row0, row1): the source pixel box a destination grid covers, unclipped;
    None when its bounds cannot be transformed."""
    x0, y0 = dst_transform @ (0, 0)
    x1, y1 = dst_transform @ (width, height)
    left, right, bottom, top = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    if src_crs != dst_crs:
        try:
            left, bottom, right, top = transform_bounds(dst_crs, src_crs, left, bottom, right, top, densify_pts=21)
        except Exception:  # noqa: BLE001 - outside the projection's domain: no window
            return None
    if not all(math.isfinite(v) for v in (left, bottom, right, top)):
        return None
    inverse = ~src_transform
    corners = [inverse @ p for p in ((left, bottom), (left, top), (right, bottom), (right, top))]
    cols, rows = [c for c, _ in corners], [r for _, r in corners]
    return min(cols), max(cols), min(rows), max(rows)


def grid_scale(src_transform: Affine, src_crs: RioCRS, dst_transform: Affine, dst_crs: RioCRS,
               width: int, height: int) -> tuple[float, float]:
    """Destination pixels per source pixel along x and y (GDAL's XSCALE / YSCALE) for the whole
    destination grid."""
    if src_crs == dst_crs:
        return abs(src_transform.a / dst_transform.a), abs(src_transform.e / dst_transform.e)
    box = _footprint(src_transform, src_crs, dst_transform, dst_crs, width, height)
    if box is None or box[1] <= box[0] or box[3] <= box[2]:
        return 1.0, 1.0
    return width / (box[1] - box[0]), height / (box[3] - box[2])


def source_window(src_transform: Affine, src_crs: RioCRS, src_shape: tuple[int, int], dst_transform: Affine,
                  dst_crs: RioCRS, width: int, height: int, method: Resampling,
                  scale: tuple[float, float]) -> tuple[int, int, int, int] | None:
    """(row0, row1, col0, col1) of the source pixels a destination block (its transform, width,
    height) reads, with a margin covering the resampling kernel, clipped to the source grid;
    None when it reads none. An untransformable block reads the whole source."""
    h, w = src_shape
    box = _footprint(src_transform, src_crs, dst_transform, dst_crs, width, height)
    if box is None:
        return (0, h, 0, w) if h and w else None
    col0, col1, row0, row1 = box
    ratio = max(1.0, 1.0 / min(scale), (col1 - col0) / width, (row1 - row0) / height)
    if method in _KERNEL_MARGIN:
        margin = _KERNEL_MARGIN[method] * ratio
    else:
        margin = 2 * ratio + _FOOTPRINT_MARGIN
        if method == Resampling.sum:
            margin += _SUM_SLACK * max(col1 - col0, row1 - row0)
    c0, c1 = max(0, math.floor(col0 - margin)), min(w, math.ceil(col1 + margin))
    r0, r1 = max(0, math.floor(row0 - margin)), min(h, math.ceil(row1 + margin))
    return (r0, r1, c0, c1) if r0 < r1 and c0 < c1 else None


def warp_planes(src: np.ndarray, src_transform: Affine, src_crs: RioCRS, dst_transform: Affine, dst_crs: RioCRS,
                width: int, height: int, method: Resampling, scale: tuple[float, float]) -> np.ndarray:
    """(n, h, w) float planes → (n, height, width), NaN as no-data, in one GDAL warp (per
    `_MAX_PLANES` planes: a GeoTIFF's band limit)."""
    n, h, w = src.shape
    dst = np.full((n, height, width), np.nan, dtype=src.dtype)
    if not (n and h and w and height and width):
        return dst
    for first in range(0, n, _MAX_PLANES):
        planes = src[first:first + _MAX_PLANES]
        with MemoryFile() as mem:
            with mem.open(driver="GTiff", width=w, height=h, count=len(planes), dtype=src.dtype, crs=src_crs,
                          transform=src_transform, nodata=np.nan, interleave="band", BIGTIFF="IF_SAFER") as ds:
                ds.write(planes)
            with mem.open() as ds, WarpedVRT(
                    ds, crs=dst_crs, transform=dst_transform, width=width, height=height, resampling=method,
                    tolerance=EXACT, src_nodata=np.nan, nodata=np.nan,
                    XSCALE=repr(float(scale[0])), YSCALE=repr(float(scale[1]))) as vrt:
                vrt.read(out=dst[first:first + len(planes)])
    return dst
