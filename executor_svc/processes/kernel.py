"""Focal processes: apply_kernel (2D weighted sums on x/y, scipy.ndimage's correlation) and
apply_neighborhood (callback on overlapping chunks of the cube)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.ndimage import correlate

from ._arrays import float_type, is_lazy
from .cubes import as_like
from .datacube import require_cube, with_attrs
from .errors import ProcessError
from .registry import invalid, process, required

_BORDER_MODES = {"replicate": "edge", "reflect": "symmetric", "reflect_pixel": "reflect", "wrap": "wrap"}


@process("apply_kernel")
def apply_kernel(args: dict, ctx: Any) -> xr.DataArray:
    pid = "apply_kernel"
    data = require_cube(required(args, "data", pid), pid)
    kernel = np.asarray(required(args, "kernel", pid), dtype=float)
    if kernel.ndim != 2:
        raise invalid(pid, "kernel", "must be a two-dimensional array.")
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ProcessError("KernelDimensionsUneven", "Each dimension of the kernel must have an uneven number of elements.")
    lazy = is_lazy(data)
    # a chunked cube's kernel runs chunk by chunk (and on a cluster's workers): its largest chunk counts
    elements = int(np.prod([max(c) for c in data.chunks])) if lazy else int(data.size)
    ctx.budget.check_kernel(int(np.count_nonzero(kernel)), elements, pid)
    if not lazy:  # the result, and one padded 2D slice at a time (a chunked cube: one chunk at a time)
        padded_slice = (data.sizes.get("y", 1) + kh) * (data.sizes.get("x", 1) + kw)
        ctx.budget.check_bytes(data.size * float_type(data.dtype).itemsize + padded_slice * 8 * 3, pid)
    factor = args.get("factor", 1)
    if factor is None or isinstance(factor, bool) or not isinstance(factor, (int, float)):
        raise invalid(pid, "factor", "must be a number.")
    border = args.get("border", 0)
    replace_invalid = args.get("replace_invalid", 0)
    for d in ("x", "y"):
        if d not in data.dims:
            raise ProcessError("DimensionNotAvailable", f"{pid}: the data cube has no {d!r} dimension.")
    if not (isinstance(border, (int, float)) and not isinstance(border, bool)) and border not in _BORDER_MODES:
        raise invalid(pid, "border", f"unsupported border mode {border!r}.")
    # Kernel rows run north -> south; flip when y increases along the array.
    y = data.coords["y"].values if "y" in data.coords else None
    if y is not None and len(y) > 1 and y[1] > y[0]:
        kernel = kernel[::-1]
    cube = data.transpose(..., "y", "x")
    dtype = float_type(cube.dtype)
    values = cube.data.astype(dtype, copy=False)
    factor = float(factor)
    if lazy:
        out = _lazy(values, kernel, factor, border, replace_invalid, dtype)
    else:
        out = _eager(values, kernel, factor, border, replace_invalid, lambda: ctx.budget.check(ctx.node_id))
    res = cube.copy(data=out).transpose(*data.dims)
    return with_attrs(res, data)


def _clean(plane: np.ndarray, replace_invalid) -> np.ndarray:
    """No-data and infinities replaced by `replace_invalid`, as the definition asks (a slice
    that has none is not copied)."""
    finite = np.isfinite(plane)
    return plane if finite.all() else np.where(finite, plane, plane.dtype.type(replace_invalid))


def _pad_plane(plane: np.ndarray, py: int, px: int, border) -> np.ndarray:
    if isinstance(border, (int, float)):
        return np.pad(plane, [(py, py), (px, px)], mode="constant", constant_values=border)
    return np.pad(plane, [(py, py), (px, px)], mode=_BORDER_MODES[border])


def _eager(values: np.ndarray, kernel: np.ndarray, factor: float, border, replace_invalid, check) -> np.ndarray:
    """The kernel over a numpy cube slice by slice: every temporary is of one 2D slice's size
    (the whole-cube copies of cleaning and padding at once were most of the time and memory)."""
    py, px = kernel.shape[0] // 2, kernel.shape[1] // 2
    ny, nx = values.shape[-2:]
    # a cancelled or overdue run stops between bands of rows of about _BAND_OPERATIONS weighted
    # sums, at least a margin high (each band also sums its margin of 2 x half the kernel: up to
    # 3x the work, only for kernels so large that a band of one margin is over the operations);
    # a band's pixels are the same sums as the whole slice's
    rows = max(py, _BAND_OPERATIONS // max(1, (nx + 2 * px) * np.count_nonzero(kernel)), 1)
    out = np.empty(values.shape, dtype=values.dtype)
    for index in np.ndindex(values.shape[:-2]):
        padded = _pad_plane(_clean(values[index], replace_invalid), py, px, border)
        for top in range(0, ny, rows):
            check()
            bottom = min(ny, top + rows)
            _valid(padded[top:bottom + 2 * py], kernel, factor, out[index][top:bottom])
    return out


_BAND_OPERATIONS = 100_000_000  # about 0.1 s of scipy's correlation


# the border modes dask's overlap fills the same way as np.pad (numbers: "constant")
_DASK_BOUNDARY = {"replicate": "nearest", "reflect": "reflect", "wrap": "periodic"}


def _lazy(values, kernel: np.ndarray, factor: float, border, replace_invalid, dtype: np.dtype):
    """The kernel over a dask cube: each chunk with a margin of half the kernel from its
    neighbours (or the border at the cube's edges), so every output pixel is the same sum in
    the same order as on the whole array and values are identical across chunk borders."""
    import dask.array as da

    py, px = kernel.shape[0] // 2, kernel.shape[1] // 2
    ny, nx = values.shape[-2:]
    numeric = isinstance(border, (int, float))
    if (numeric or border in _DASK_BOUNDARY) and py < ny and px < nx:
        boundary = {ax: "none" for ax in range(values.ndim - 2)}
        boundary.update(dict.fromkeys((values.ndim - 2, values.ndim - 1), border if numeric else _DASK_BOUNDARY[border]))
        depth = {ax: 0 for ax in range(values.ndim - 2)} | {values.ndim - 2: py, values.ndim - 1: px}
        # chunks narrower than the margin are merged with a neighbour first (overlap would)
        grid = values.rechunk({ax: da.overlap.ensure_minimum_chunksize(max(1, depth[ax]), values.chunks[ax])
                               for ax in (values.ndim - 2, values.ndim - 1)})
        margins = da.overlap.overlap(grid, depth=depth, boundary=boundary)
        out = margins.map_blocks(_block_valid, kernel=kernel, factor=factor, replace_invalid=replace_invalid,
                                 dtype=dtype, chunks=grid.chunks, meta=np.empty((0,) * values.ndim, dtype=dtype))
        return out if out.chunks == values.chunks else out.rechunk(values.chunks)
    # reflect_pixel (np.pad's "reflect", which dask's overlap has not) or a kernel wider than the
    # cube: the border as np.pad makes it, then the chunks' margins from their neighbours
    pad = [(0, 0)] * (values.ndim - 2) + [(py, py), (px, px)]
    padded = da.pad(values, pad, mode="constant", constant_values=border) if numeric \
        else da.pad(values, pad, mode=_BORDER_MODES[border])
    depth = {values.ndim - 2: py, values.ndim - 1: px}
    out = padded.map_overlap(_same, depth=depth, boundary="none", dtype=dtype, kernel=kernel, factor=factor,
                             replace_invalid=replace_invalid)
    return out[..., py:py + ny, px:px + nx].rechunk(values.chunks)


def _valid(padded: np.ndarray, kernel: np.ndarray, factor: float, out: np.ndarray) -> None:
    """The kernel's weighted sums over a 2D `padded` slice (a margin of half the kernel on each
    side of `out`), times `factor`, into `out`. Kernel rows and columns are not mirrored:
    openEO's apply_kernel weights the pixel north-west of the centre with the kernel's first
    element. The sums and the factor run in float64 (scipy's accumulator); `out` has the data's
    float type."""
    py, px = kernel.shape[0] // 2, kernel.shape[1] // 2
    sums = correlate(padded, kernel, output=np.float64, mode="constant", cval=0.0)  # the margin is there
    np.multiply(sums[py:py + out.shape[0], px:px + out.shape[1]], factor, out=out, casting="same_kind")


def _block_valid(block: np.ndarray, kernel: np.ndarray, factor: float, replace_invalid) -> np.ndarray:
    """`_valid` of every 2D slice of a chunk with its margins (no-data replaced here, slice by
    slice: elementwise, so the margins' values are those of the neighbours' chunks): the chunk
    without its margins."""
    py, px = kernel.shape[0] // 2, kernel.shape[1] // 2
    out = np.empty(block.shape[:-2] + (block.shape[-2] - 2 * py, block.shape[-1] - 2 * px), dtype=block.dtype)
    for index in np.ndindex(block.shape[:-2]):
        _valid(_clean(block[index], replace_invalid), kernel, factor, out[index])
    return out


def _same(block: np.ndarray, kernel: np.ndarray, factor: float, replace_invalid) -> np.ndarray:
    """`_block_valid` keeping the block's shape (map_overlap and the final slice trim the outer
    margin away)."""
    kh, kw = kernel.shape
    pad = [(0, 0)] * (block.ndim - 2) + [(kh // 2, kh // 2), (kw // 2, kw // 2)]
    return _block_valid(np.pad(block, pad), kernel, factor, replace_invalid)


def _size_px(spec: list | None, dims: tuple, pid: str, name: str) -> dict:
    out: dict = {}
    for item in spec or []:
        d, v, unit = item.get("dimension"), item.get("value"), item.get("unit")
        if d not in dims:
            raise ProcessError("DimensionNotAvailable", f"{pid}: dimension {d!r} in {name} is not available.")
        if v is None or d not in ("x", "y"):
            continue  # whole dimension
        if unit not in (None, "px"):
            raise invalid(pid, name, f"only pixel units are supported for {d!r}, got {unit!r}.")
        out[d] = int(v)
    return out


@process("apply_neighborhood")
def apply_neighborhood(args: dict, ctx: Any) -> xr.DataArray:
    pid = "apply_neighborhood"
    data = require_cube(required(args, "data", pid), pid)
    fn = required(args, "process", pid)
    size = _size_px(required(args, "size", pid), data.dims, pid, "size")
    overlap = _size_px(args.get("overlap"), data.dims, pid, "overlap")
    context = args.get("context")
    nx = data.sizes.get("x", 1)
    ny = data.sizes.get("y", 1)
    sx, sy = size.get("x", nx), size.get("y", ny)
    ox, oy = overlap.get("x", 0), overlap.get("y", 0)
    if sx <= 0 or sy <= 0:
        raise invalid(pid, "size", "must be positive.")
    rows = []
    for y0 in range(0, ny, sy):
        row = []
        for x0 in range(0, nx, sx):
            sel = {}
            if "y" in data.dims:
                sel["y"] = slice(max(0, y0 - oy), min(ny, y0 + sy + oy))
            if "x" in data.dims:
                sel["x"] = slice(max(0, x0 - ox), min(nx, x0 + sx + ox))
            chunk = data.isel(sel)
            res = as_like(fn(data=chunk, context=context), chunk)
            if res.shape != chunk.shape:
                raise ProcessError("DataCubePropertiesMismatch", f"{pid}: the process must keep the chunk's dimensions and labels.")
            core_sel = {}
            if "y" in data.dims:
                a = y0 - sel["y"].start
                core_sel["y"] = slice(a, a + min(sy, ny - y0))
            if "x" in data.dims:
                a = x0 - sel["x"].start
                core_sel["x"] = slice(a, a + min(sx, nx - x0))
            # the neighbourhood's core with the cube's labels (lazy on a chunked cube)
            row.append(res.isel(core_sel).transpose(*data.dims).assign_coords(
                {d: data.coords[d].isel({d: slice(core_sel[d].start + sel[d].start, core_sel[d].stop + sel[d].start)})
                 for d in core_sel if d in data.coords}))
        rows.append(xr.concat(row, dim="x") if len(row) > 1 else row[0])
    out = xr.concat(rows, dim="y") if len(rows) > 1 else rows[0]
    return with_attrs(out.astype(float_type(out.dtype)), data)
