"""Resampling: resample_spatial / resample_cube_spatial (GDAL warps through rasterio, all
non-spatial slices of a block in one warp; a chunked cube destination block by destination block,
each from only the source window it reads: `_warp.py`) and resample_cube_temporal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError
from rasterio.crs import CRS as RioCRS
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform

from ._arrays import float_type, is_lazy
from ._warp import grid_scale, source_window, warp_planes
from .datacube import TEMPORAL, date_values, pixel_size, require_cube, require_pixels, single_dimension, with_attrs
from .errors import ProcessError
from .registry import invalid, process, required

METHODS = {
    "near": Resampling.nearest, "bilinear": Resampling.bilinear, "cubic": Resampling.cubic,
    "cubicspline": Resampling.cubic_spline, "lanczos": Resampling.lanczos, "average": Resampling.average,
    "mode": Resampling.mode, "max": Resampling.max, "min": Resampling.min, "med": Resampling.med,
    "median": Resampling.med, "q1": Resampling.q1, "q3": Resampling.q3, "sum": Resampling.sum, "rms": Resampling.rms,
}


def _rio_crs(crs: Any) -> RioCRS:
    return RioCRS.from_wkt(CRS.from_user_input(crs).to_wkt())


def _crs_attr(crs: Any) -> Any:
    epsg = CRS.from_user_input(crs).to_epsg()
    return epsg if epsg is not None else CRS.from_user_input(crs).to_wkt()


def grid_of(cube: xr.DataArray) -> tuple[Affine, int, int]:
    """Affine transform (north-up) and (width, height) of a cube's x/y pixel-centre coordinates."""
    x, y = cube.coords["x"].values.astype(float), cube.coords["y"].values.astype(float)
    rx, ry = pixel_size(cube)
    return Affine(rx, 0, x.min() - rx / 2, 0, -ry, y.max() + ry / 2), len(x), len(y)


def _coords(transform: Affine, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    xs = transform.c + (np.arange(width) + 0.5) * transform.a
    ys = transform.f + (np.arange(height) + 0.5) * transform.e
    return xs, ys


@dataclass(frozen=True)
class _Grid:
    """What every block of one warp shares."""

    src_transform: Affine
    src_crs: RioCRS
    dst_crs: RioCRS
    method: Resampling
    scale: tuple[float, float]
    dtype: np.dtype

    def warp(self, values: np.ndarray, dst_transform: Affine, width: int, height: int,
             offset: tuple[int, int] = (0, 0)) -> np.ndarray:
        """(..., h, w) source values whose first pixel is the source grid's pixel `offset` (row,
        col) → (..., height, width) on the destination grid `dst_transform`: all planes in one warp."""
        src = np.asarray(values, dtype=self.dtype).reshape((-1,) + values.shape[-2:])
        src_transform = self.src_transform @ Affine.translation(offset[1], offset[0])
        dst = warp_planes(src, src_transform, self.src_crs, dst_transform, self.dst_crs, width, height,
                          self.method, self.scale)
        return dst.reshape(values.shape[:-2] + (height, width))


def _block_sides(values: Any, scale: tuple[float, float]) -> tuple[int, int]:
    """Destination block sides (rows, cols): the input's chunk sides, shrunk by the scale when
    downsampling so that a block reads about one input chunk."""
    rows, cols = max(values.chunks[-2]), max(values.chunks[-1])
    return max(1, int(rows * min(1.0, scale[1]))), max(1, int(cols * min(1.0, scale[0])))


def _warp_lazy(values: Any, grid: _Grid, dst_transform: Affine, width: int, height: int) -> Any:
    """A dask array warped destination block by destination block, each block from the lazily
    sliced source window it reads (the other dimensions keep their chunks); nothing computes."""
    import dask.array as da
    from dask.base import tokenize

    lead_shape, lead_chunks = values.shape[:-2], values.chunks[:-2]
    src_shape = values.shape[-2:]
    by, bx = _block_sides(values, grid.scale)
    meta = np.empty((0,) * values.ndim, dtype=grid.dtype)
    rows = []
    for y0 in range(0, height, by):
        row = []
        for x0 in range(0, width, bx):
            bh, bw = min(by, height - y0), min(bx, width - x0)
            block_transform = dst_transform @ Affine.translation(x0, y0)
            chunks = lead_chunks + ((bh,), (bw,))
            window = None if 0 in lead_shape else source_window(
                grid.src_transform, grid.src_crs, src_shape, block_transform, grid.dst_crs, bw, bh,
                grid.method, grid.scale)
            if window is None:
                row.append(da.full(lead_shape + (bh, bw), np.nan, dtype=grid.dtype, chunks=chunks))
                continue
            r0, r1, c0, c1 = window
            source = values[..., r0:r1, c0:c1].rechunk({values.ndim - 2: -1, values.ndim - 1: -1})
            name = "resample-" + tokenize(source.name, grid, block_transform, bw, bh)
            row.append(source.map_blocks(grid.warp, block_transform, bw, bh, (r0, c0), chunks=chunks,
                                         dtype=grid.dtype, meta=meta, name=name))
        rows.append(row)
    return da.block(rows)


def warp(data: xr.DataArray, dst_crs: Any, dst_transform: Affine, width: int, height: int, method: str,
         ctx: Any, pid: str) -> xr.DataArray:
    """`data` warped onto the grid `dst_transform` (width x height) in `dst_crs`; the run budget is
    checked before anything is allocated: the whole result, or a chunked cube's largest block."""
    if method not in METHODS:
        raise invalid(pid, "method", f"unsupported method {method!r}.")
    src_crs = data.attrs.get("crs")
    if src_crs is None:
        raise ProcessError("ProcessParameterInvalid", "The data cube has no CRS (attrs['crs']).")
    require_pixels(data, pid)
    cube = data.transpose(..., "y", "x")
    if cube.sizes["y"] > 1 and cube.y.values[1] > cube.y.values[0]:
        cube = cube.isel(y=slice(None, None, -1))  # north-up for GDAL
    if cube.sizes["x"] > 1 and cube.x.values[1] < cube.x.values[0]:
        cube = cube.isel(x=slice(None, None, -1))
    src_transform, _, _ = grid_of(cube)
    dtype = np.dtype(float_type(cube.dtype))
    src_rio, dst_rio = _rio_crs(src_crs), _rio_crs(dst_crs)
    scale = grid_scale(src_transform, src_rio, dst_transform, dst_rio, width, height)
    grid = _Grid(src_transform, src_rio, dst_rio, METHODS[method], scale, dtype)
    if is_lazy(cube):
        by, bx = _block_sides(cube.data, scale)
        planes = float(np.prod([max(c) if c else 0 for c in cube.data.chunks[:-2]]))
        ctx.budget.check_bytes(min(by, height) * min(bx, width) * planes * dtype.itemsize, pid)
        warped = _warp_lazy(cube.data, grid, dst_transform, width, height)
    else:
        planes = cube.size / max(1, cube.sizes["y"] * cube.sizes["x"])  # dates x bands
        ctx.budget.check_bytes(float(width) * float(height) * planes * dtype.itemsize, pid)
        warped = grid.warp(np.asarray(cube.values), dst_transform, width, height)
    xs, ys = _coords(dst_transform, width, height)
    coords = {k: v for k, v in cube.coords.items() if "x" not in v.dims and "y" not in v.dims and k not in ("x", "y")}
    coords.update({"x": xs, "y": ys})
    out = xr.DataArray(warped, dims=cube.dims, coords=coords)
    out = out.transpose(*data.dims)
    return with_attrs(out, data, crs=_crs_attr(dst_crs), res_x=abs(dst_transform.a), res_y=abs(dst_transform.e),
                      resolution=[abs(dst_transform.a), abs(dst_transform.e)])


@process("resample_spatial")
def resample_spatial(args: dict, ctx: Any) -> xr.DataArray:
    pid = "resample_spatial"
    data = require_cube(required(args, "data", pid), pid)
    resolution = args.get("resolution", 0) or 0
    projection = args.get("projection")
    method = args.get("method", "near")
    src_crs = data.attrs.get("crs")
    dst_crs = projection if projection is not None else src_crs
    if isinstance(resolution, (list, tuple)):
        res = tuple(float(r) for r in resolution)
        if len(res) != 2:
            raise invalid(pid, "resolution", "expected one number or two numbers [x, y].")
    else:
        res = (float(resolution), float(resolution))
    try:
        same_crs = src_crs is not None and CRS.from_user_input(dst_crs) == CRS.from_user_input(src_crs)
    except CRSError as exc:
        raise invalid(pid, "projection", f"{dst_crs!r} is not a known coordinate reference system.") from exc
    if same_crs and res == (0.0, 0.0):
        return data
    require_pixels(data, pid)
    src_transform, w, h = grid_of(data)
    left, top = src_transform.c, src_transform.f
    right, bottom = left + w * src_transform.a, top + h * src_transform.e
    kwargs = {"resolution": res} if res[0] > 0 and res[1] > 0 else {}
    if same_crs and kwargs:
        rx, ry = res
        width, height = max(1, int(round((right - left) / rx))), max(1, int(round((top - bottom) / ry)))
        dst_transform = Affine(rx, 0, left, 0, -ry, top)
    else:
        dst_transform, width, height = calculate_default_transform(
            _rio_crs(src_crs), _rio_crs(dst_crs), w, h, left=left, bottom=bottom, right=right, top=top, **kwargs)
    return warp(data, dst_crs, dst_transform, width, height, method, ctx, pid)


@process("resample_cube_spatial")
def resample_cube_spatial(args: dict, ctx: Any) -> xr.DataArray:
    pid = "resample_cube_spatial"
    data = require_cube(required(args, "data", pid), pid)
    target = require_cube(required(args, "target", pid), pid, "target")
    method = args.get("method", "near")
    transform, w, h = grid_of(require_pixels(target, pid))
    out = warp(data, target.attrs.get("crs"), transform, w, h, method, ctx, pid)
    # Use the target's exact labels (and orientation) so that the cubes align label-by-label.
    out = out.reindex(y=out.y.values[::-1]) if (target.sizes["y"] > 1 and target.y.values[1] > target.y.values[0]) else out
    return out.assign_coords(x=target.x.values, y=target.y.values)


@process("resample_cube_temporal", experimental=True)
def resample_cube_temporal(args: dict, ctx: Any) -> xr.DataArray:
    pid = "resample_cube_temporal"
    data = require_cube(required(args, "data", pid), pid)
    target = require_cube(required(args, "target", pid), pid, "target")
    dim = single_dimension(data, TEMPORAL, args.get("dimension"), pid)
    tdim = dim if dim in target.dims else single_dimension(target, TEMPORAL, None, pid)
    valid_within = args.get("valid_within")
    src = date_values(data, dim, pid).astype("int64")
    dst = date_values(target, tdim, pid)
    if len(src) == 0:
        raise ProcessError("ProcessParameterInvalid", f"{pid}: the data cube has no temporal labels.")
    dist = np.abs(dst.astype("int64")[:, None] - src[None, :])
    # Nearest label; on ties the later label wins.
    idx = dist.shape[1] - 1 - np.argmin(dist[:, ::-1], axis=1)
    out = data.isel({dim: idx}).assign_coords({dim: dst})
    if valid_within is not None:
        ok = dist[np.arange(len(idx)), idx] <= pd.Timedelta(days=float(valid_within)).value
        out = out.where(xr.DataArray(ok, dims=(dim,), coords={dim: dst}))
    return with_attrs(out.transpose(*data.dims), data)
