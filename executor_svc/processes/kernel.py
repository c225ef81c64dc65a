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
    if not lazy:  # a chunked cube holds one padded chunk at a time
        padded_elements = data.size / max(1, data.sizes["y"] * data.sizes["x"]) * (data.sizes["y"] + kh) * (data.sizes["x"] + kw) \
            if "x" in data.dims and "y" in data.dims else data.size
        ctx.budget.check_bytes(padded_elements * 8 * 3, pid)  # padded input, values, output (float64)
    factor = args.get("factor", 1)
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
    values = cube.data.astype(dtype)
    values = np.where(np.isfinite(values), values, dtype.type(replace_invalid))
    py, px = kh // 2, kw // 2
    pad = [(0, 0)] * (values.ndim - 2) + [(py, py), (px, px)]
    if isinstance(border, (int, float)):
        padded = np.pad(values, pad, mode="constant", constant_values=border)
    else:
        padded = np.pad(values, pad, mode=_BORDER_MODES[border])
    if lazy:
        # each chunk with a margin of half the kernel from its neighbours: every output pixel is
        # the same sum in the same order as on the whole array, so values are identical across
        # chunk borders
        depth = {values.ndim - 2: py, values.ndim - 1: px}
        out = padded.map_overlap(_same, depth=depth, boundary="none", dtype=dtype, kernel=kernel)
        out = out[..., py:py + values.shape[-2], px:px + values.shape[-1]].rechunk(values.chunks)
    else:
        out = _valid(padded, kernel, values.shape[-2], values.shape[-1], lambda: ctx.budget.check(ctx.node_id))
    out = out * dtype.type(factor) if factor != 1 else out
    res = cube.copy(data=out).transpose(*data.dims)
    return with_attrs(res, data)


#: Kernel weights correlated in one scipy call: a larger kernel runs in blocks of its rows, so a
#: cancelled or overdue run stops between blocks (the blocks depend on the kernel only, so a chunk
#: and the whole array sum in the same order).
WEIGHTS_PER_CALL = 1024


def _valid(padded: np.ndarray, kernel: np.ndarray, ny: int, nx: int, check=None) -> np.ndarray:
    """The kernel's weighted sums over `padded` (a margin of half the kernel on each side of
    the (ny, nx) result). Kernel rows and columns are not mirrored: openEO's apply_kernel weights
    the pixel north-west of the centre with the kernel's first element. The sums run in float64
    and are stored in the data's float type, slice by slice."""
    kh, kw = kernel.shape
    px = kw // 2
    rows = max(1, WEIGHTS_PER_CALL // kw)
    out = np.empty(padded.shape[:-2] + (ny, nx), dtype=padded.dtype)
    acc = np.empty((ny, nx), dtype=np.float64)
    for index in np.ndindex(padded.shape[:-2]):
        plane = padded[index]
        for i0 in range(0, kh, rows):
            if check is not None:
                check()
            block = kernel[i0:i0 + rows]
            b = block.shape[0]
            # rows i0.. of the kernel see rows i0.. of the margin; scipy centres the block on its
            # row b // 2, and the margin outside is sliced away, so its border mode does not matter
            full = correlate(plane[i0:i0 + ny + b - 1], block, output=np.float64, mode="constant", cval=0.0)
            part = full[b // 2:b // 2 + ny, px:px + nx]
            if i0 == 0:
                acc[...] = part
            else:
                acc += part
        out[index] = acc
    return out


def _same(block: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """`_valid` of a block with its overlap, keeping its shape (the outer margin is trimmed away
    by map_overlap and the final slice)."""
    kh, kw = kernel.shape
    py, px = kh // 2, kw // 2
    pad = [(0, 0)] * (block.ndim - 2) + [(py, py), (px, px)]
    return _valid(np.pad(block, pad), kernel, block.shape[-2], block.shape[-1])


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
