"""Filter processes: filter_bands, filter_bbox, filter_spatial, filter_temporal, filter_labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .cubes import resolve_band
from .datacube import (
    BANDS,
    TEMPORAL,
    date_values,
    dims_of_type,
    label_to_python,
    labels_of,
    require_cube,
    require_dimension,
    single_dimension,
    to_datetime64,
    with_attrs,
)
from .errors import ProcessError
from .registry import invalid, process, required
from .vector import cube_geometries, transform_bounds, union_mask


@process("filter_bands")
def filter_bands(args: dict, ctx: Any) -> xr.DataArray:
    pid = "filter_bands"
    data = require_cube(required(args, "data", pid), pid)
    bands = list(args.get("bands") or [])
    wavelengths = list(args.get("wavelengths") or [])
    if not bands and not wavelengths:
        raise ProcessError("BandFilterParameterMissing", "The process `filter_bands` requires any of the parameters `bands`, `common_names` or `wavelengths` to be set.")
    if not dims_of_type(data, BANDS):
        raise ProcessError("DimensionMissing", "filter_bands: the data cube has no dimension of type bands.")
    dim = single_dimension(data, BANDS, None, pid)
    labels = [label_to_python(v) for v in labels_of(data, dim)]
    selected: list = []
    for b in bands:
        found = resolve_band(data, b)
        if not found:
            raise ProcessError("LabelNotAvailable", f"filter_bands: band {b!r} is not available (bands: {labels}).")
        selected += [f for f in found if f not in selected]
    meta = data.attrs.get("band_metadata") or []
    for lo, hi in wavelengths:
        for m in meta:
            wl = m.get("center_wavelength")
            if wl is not None and lo <= wl <= hi and m.get("name") in labels and m["name"] not in selected:
                selected.append(m["name"])
    out = data.sel({dim: selected})
    extra = {"band_metadata": [m for n in selected for m in meta if m.get("name") == n]} if meta else {}
    return with_attrs(out, data, **extra)


def _select_range(cube: xr.DataArray, dim: str, lo: float, hi: float) -> xr.DataArray:
    values = cube.coords[dim].values
    return cube.isel({dim: np.flatnonzero((values >= lo) & (values <= hi))})


@process("filter_bbox")
def filter_bbox(args: dict, ctx: Any) -> xr.DataArray:
    pid = "filter_bbox"
    data = require_cube(required(args, "data", pid), pid)
    extent = required(args, "extent", pid)
    try:
        w, s, e, n = (float(extent[k]) for k in ("west", "south", "east", "north"))
    except (KeyError, TypeError) as err:
        raise invalid(pid, "extent", "west, south, east and north are required.") from err
    w, s, e, n = transform_bounds(w, s, e, n, extent.get("crs") or 4326, data.attrs.get("crs"))
    return with_attrs(_select_range(_select_range(data, "x", w, e), "y", s, n), data)


@process("filter_spatial")
def filter_spatial(args: dict, ctx: Any) -> xr.DataArray:
    pid = "filter_spatial"
    data = require_cube(required(args, "data", pid), pid)
    _, geoms, _ = cube_geometries(required(args, "geometries", pid), data)
    if not geoms:
        raise invalid(pid, "geometries", "no geometries given.")
    minx = min(g.bounds[0] for g in geoms)
    miny = min(g.bounds[1] for g in geoms)
    maxx = max(g.bounds[2] for g in geoms)
    maxy = max(g.bounds[3] for g in geoms)
    rx = abs(float(np.diff(data.x.values[:2])[0])) / 2 if data.sizes["x"] > 1 else 0
    ry = abs(float(np.diff(data.y.values[:2])[0])) / 2 if data.sizes["y"] > 1 else 0
    sub = _select_range(_select_range(data, "x", minx - rx, maxx + rx), "y", miny - ry, maxy + ry)
    m = union_mask(sub, geoms)
    return with_attrs(sub.where(m).transpose(*sub.dims), data)


def temporal_bounds(extent: Any, pid: str) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    if not isinstance(extent, (list, tuple)) or len(extent) != 2:
        raise invalid(pid, "extent", "expected a two-element array [start, end].")
    start, end = extent
    if start is None and end is None:
        raise invalid(pid, "extent", "both boundaries are null.")
    s = to_datetime64(start) if start is not None else None
    e = to_datetime64(end) if end is not None else None
    if s is not None and e is not None and e < s:
        raise invalid(pid, "extent", "the end is before the start.")
    return s, e


@process("filter_temporal")
def filter_temporal(args: dict, ctx: Any) -> xr.DataArray:
    pid = "filter_temporal"
    data = require_cube(required(args, "data", pid), pid)
    s, e = temporal_bounds(required(args, "extent", pid), pid)
    dimension = args.get("dimension")
    dims = [require_dimension(data, dimension)] if dimension else dims_of_type(data, TEMPORAL)
    if not dims:
        raise ProcessError("DimensionNotAvailable", "filter_temporal: the data cube has no temporal dimension.")
    out = data
    for d in dims:
        t = date_values(out, d, pid)
        keep = np.ones(t.shape, dtype=bool)
        if s is not None:
            keep &= t >= s
        if e is not None:
            keep &= t < e  # left-closed interval: the end is excluded
        out = out.isel({d: np.flatnonzero(keep)})
    out = with_attrs(out, data)
    extent = data.attrs.get("temporal_extent")
    if isinstance(extent, (list, tuple)) and len(extent) == 2:  # the cube's extent narrows too
        start, end = (to_datetime64(v) for v in extent)
        start = start if s is None else max(start, s)
        end = end if e is None else min(end, e - np.timedelta64(1, "ms"))
        out.attrs["temporal_extent"] = [str(start), str(end)] if start <= end else None
    return out


@process("filter_labels", experimental=True)
def filter_labels(args: dict, ctx: Any) -> xr.DataArray:
    pid = "filter_labels"
    data = require_cube(required(args, "data", pid), pid)
    cond = required(args, "condition", pid)
    dim = require_dimension(data, required(args, "dimension", pid))
    # One call per label (labels are few), never per pixel.
    labels = labels_of(data, dim)
    keep = [i for i, v in enumerate(labels) if cond(value=label_to_python(v), context=args.get("context")) is True]
    return with_attrs(data.isel({dim: keep}), data)
