"""Focal processes: apply_kernel (2D weighted convolution on x/y, pure numpy) and
apply_neighborhood (callback on overlapping chunks of the cube)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

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
    ctx.budget.check_kernel(int(np.count_nonzero(kernel)), int(data.size), pid)
    padded_elements = data.size / max(1, data.sizes["y"] * data.sizes["x"]) * (data.sizes["y"] + kh) * (data.sizes["x"] + kw) \
        if "x" in data.dims and "y" in data.dims else data.size
    ctx.budget.check_bytes(padded_elements * 8 * 3, pid)  # padded input, values, output (float64)
    factor = args.get("factor", 1)
    border = args.get("border", 0)
    replace_invalid = args.get("replace_invalid", 0)
    for d in ("x", "y"):
        if d not in data.dims:
            raise ProcessError("DimensionNotAvailable", f"{pid}: the data cube has no {d!r} dimension.")
    # Kernel rows run north -> south; flip when y increases along the array.
    y = data.coords["y"].values if "y" in data.coords else None
    if y is not None and len(y) > 1 and y[1] > y[0]:
        kernel = kernel[::-1]
    cube = data.transpose(..., "y", "x")
    values = np.asarray(cube.values, dtype=float)
    values = np.where(np.isfinite(values), values, replace_invalid)
    py, px = kh // 2, kw // 2
    pad = [(0, 0)] * (values.ndim - 2) + [(py, py), (px, px)]
    if isinstance(border, (int, float)) and not isinstance(border, bool):
        padded = np.pad(values, pad, mode="constant", constant_values=border)
    elif border in _BORDER_MODES:
        padded = np.pad(values, pad, mode=_BORDER_MODES[border])
    else:
        raise invalid(pid, "border", f"unsupported border mode {border!r}.")
    out = np.zeros_like(values)
    ny, nx = values.shape[-2:]
    for i in range(kh):
        ctx.budget.check(ctx.node_id)  # a long kernel stops when the run is cancelled or overdue
        for j in range(kw):
            w = kernel[i, j]
            if w != 0:
                out += w * padded[..., i:i + ny, j:j + nx]
    out *= factor
    res = cube.copy(data=out).transpose(*data.dims)
    return with_attrs(res, data)


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
    out = xr.full_like(data, np.nan, dtype=float)
    for y0 in range(0, ny, sy):
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
            core_out = {}
            if "y" in data.dims:
                a = y0 - sel["y"].start
                core_sel["y"] = slice(a, a + min(sy, ny - y0))
                core_out["y"] = slice(y0, y0 + min(sy, ny - y0))
            if "x" in data.dims:
                a = x0 - sel["x"].start
                core_sel["x"] = slice(a, a + min(sx, nx - x0))
                core_out["x"] = slice(x0, x0 + min(sx, nx - x0))
            out[core_out] = res.isel(core_sel).values
    return with_attrs(out, data)
