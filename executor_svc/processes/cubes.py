"""Data-cube structure processes: apply, apply_dimension, reduce_dimension, add_dimension,
drop_dimension, create_raster_cube, dimension_labels, rename_dimension, rename_labels,
merge_cubes, mask, ndvi, normalized_difference, trim_cube.

Callbacks are called once per cube (vectorised): ``apply`` passes the whole cube as ``x``;
``reduce_dimension``/``apply_dimension`` pass the cube with the processed dimension renamed to
:data:`~executor_svc.processes.datacube.ARRAY_DIM` as ``data``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._arrays import compute_small, is_lazy
from ._values import is_arraylike, is_number, py
from .datacube import (
    ARRAY_DIM,
    BANDS,
    OTHER,
    SPATIAL,
    TEMPORAL,
    dimension_type,
    label_to_python,
    labels_of,
    pixel_size,
    require_cube,
    require_pixels,
    require_dimension,
    single_dimension,
    to_datetime64,
    with_attrs,
)
from .errors import ProcessError
from .registry import invalid, process, required


def _types(cube: xr.DataArray) -> dict:
    return {d: dimension_type(cube, d) for d in cube.dims}


def as_like(value: Any, template: xr.DataArray) -> xr.DataArray:
    """Broadcast a callback result (scalar or DataArray) to ``template``'s shape."""
    if isinstance(value, xr.DataArray):
        missing = [d for d in template.dims if d not in value.dims]
        if missing:
            value = value.broadcast_like(template)
        return value.transpose(*template.dims, *[d for d in value.dims if d not in template.dims])
    if isinstance(value, np.ndarray) and value.shape == template.shape:
        return template.copy(data=value)
    if value is None:
        value = np.nan
    if isinstance(value, (bool, np.bool_)) or is_number(value):
        return xr.full_like(template, value, dtype=type(value) if isinstance(value, bool) else float)
    raise ProcessError("ProcessParameterInvalid", f"Callback returned an unsupported value of type {type(value).__name__}.")


@process("apply")
def apply(args: dict, ctx: Any) -> xr.DataArray:
    data = require_cube(required(args, "data", "apply"), "apply")
    fn = required(args, "process", "apply")
    res = fn(x=data, context=args.get("context"))
    return with_attrs(as_like(res, data), data)


def _dim_types_without(cube: xr.DataArray, dim: str, **extra: str) -> dict:
    types = {d: t for d, t in _types(cube).items() if d != dim}
    types.update(extra)
    return types


def _single_value(res: Any, pid: str) -> Any:
    """A reducer's result without its ARRAY_DIM of one value; an array of several is an error."""
    if isinstance(res, xr.DataArray) and ARRAY_DIM in res.dims:
        if res.sizes[ARRAY_DIM] != 1:
            raise ProcessError("ProcessParameterInvalid", f"{pid}: the reducer must return a single value, not an array.")
        res = res.isel({ARRAY_DIM: 0}, drop=True)
    return res


@process("reduce_dimension")
def reduce_dimension(args: dict, ctx: Any) -> xr.DataArray:
    pid = "reduce_dimension"
    data = require_cube(required(args, "data", pid), pid)
    reducer = required(args, "reducer", pid)
    dim = require_dimension(data, required(args, "dimension", pid))
    types = _dim_types_without(data, dim)
    if data.sizes[dim] == 0:  # no labels (e.g. no acquisition): the reducer sees one no-data value
        data = xr.full_like(data.reindex({dim: [None]}) if dim in data.coords else data.pad({dim: (0, 1)}), np.nan,
                            dtype=float)
    res = reducer(data=data.rename({dim: ARRAY_DIM}), context=args.get("context"))
    template = data.isel({dim: 0}, drop=True)
    res = _single_value(res, pid)
    out = as_like(res, template)
    return with_attrs(out, data, dimension_types=types)


@process("reduce_spatial", experimental=True)
def reduce_spatial(args: dict, ctx: Any) -> xr.DataArray:
    """The reducer over all pixels (x and y together) of each other label combination; the
    result has no spatial dimensions (the reducer sees one array of y * x values)."""
    pid = "reduce_spatial"
    data = require_cube(required(args, "data", pid), pid)
    reducer = required(args, "reducer", pid)
    for dim in ("x", "y"):
        require_dimension(data, dim)
    require_pixels(data, pid)
    others = [d for d in data.dims if d not in ("x", "y")]
    ordered = data.transpose(*others, "y", "x")
    template = ordered.isel(x=0, y=0, drop=True)
    # lazy on a dask-backed cube (each combination of the other labels: its pixels in one chunk)
    values = ordered.data
    if is_lazy(ordered):
        values = values.rechunk({i: -1 for i in range(len(others), values.ndim)})
    flat = xr.DataArray(values.reshape(*template.shape, ordered.sizes["y"] * ordered.sizes["x"]), dims=(*others, ARRAY_DIM),
                        coords={k: v for k, v in template.coords.items()}, attrs=data.attrs)
    res = reducer(data=flat, context=args.get("context"))
    res = _single_value(res, pid)
    out = as_like(res, template)
    types = {d: t for d, t in _types(data).items() if d not in ("x", "y")}
    return with_attrs(out, data, dimension_types=types)


def _window_sides(align: str, y_descending: bool) -> tuple[bool, bool]:
    """(pad/trim x at its end, pad/trim y at its end) for an `align` corner (pure): data aligned
    to the upper left is padded or trimmed at the lower right, and so on."""
    horizontal, vertical = align.split("-")[1], align.split("-")[0]
    x_at_end = horizontal == "left"
    south_side = vertical == "upper"
    y_at_end = south_side == y_descending  # row order north → south when y descends
    return x_at_end, y_at_end


def _fit_axis(cube: xr.DataArray, dim: str, size: int, pad: bool, at_end: bool) -> xr.DataArray:
    """`cube` with `dim` padded (NaN, coordinates continued at the same step) or trimmed to a
    multiple of `size` on one side."""
    n = cube.sizes[dim]
    extra = n % size
    if extra == 0:
        return cube
    if not pad:
        return cube.isel({dim: slice(0, n - extra) if at_end else slice(extra, n)})
    missing = size - extra
    coords = cube.coords[dim].values.astype(float)
    step = coords[1] - coords[0] if n > 1 else 1.0
    if at_end:
        added = coords[-1] + step * np.arange(1, missing + 1)
        new_coords = np.concatenate([coords, added])
    else:
        added = coords[0] - step * np.arange(missing, 0, -1)
        new_coords = np.concatenate([added, coords])
    return cube.reindex({dim: new_coords}, fill_value=np.nan)


@process("aggregate_spatial_window", experimental=True)
def aggregate_spatial_window(args: dict, ctx: Any) -> xr.DataArray:
    """The reducer over non-overlapping windows of size [x, y] pixels; the labels of x and y
    become the windows' centres."""
    pid = "aggregate_spatial_window"
    data = require_cube(required(args, "data", pid), pid)
    reducer = required(args, "reducer", pid)
    size = required(args, "size", pid)
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size)):
        raise invalid(pid, "size", "must be two integers >= 1: the window's width (x) and height (y) in pixels.")
    boundary = args.get("boundary") or "pad"
    align = args.get("align") or "upper-left"
    if boundary not in ("pad", "trim"):
        raise invalid(pid, "boundary", "must be 'pad' or 'trim'.")
    if align not in ("lower-left", "upper-left", "lower-right", "upper-right"):
        raise invalid(pid, "align", "must be one of lower-left, upper-left, lower-right, upper-right.")
    for dim in ("x", "y"):
        require_dimension(data, dim)
    sx, sy = size
    y = data.coords["y"].values
    x_at_end, y_at_end = _window_sides(align, bool(len(y) < 2 or y[0] > y[-1]))
    fitted = _fit_axis(_fit_axis(data, "x", sx, boundary == "pad", x_at_end), "y", sy, boundary == "pad", y_at_end)
    if fitted.sizes["x"] == 0 or fitted.sizes["y"] == 0:
        raise ProcessError("ProcessParameterInvalid", f"{pid}: the window is larger than the cube and boundary is 'trim'.")
    others = [d for d in data.dims if d not in ("x", "y")]
    ordered = fitted.transpose(*others, "y", "x")
    ny, nx = ordered.sizes["y"] // sy, ordered.sizes["x"] // sx
    lead = [ordered.sizes[d] for d in others]
    values = ordered.data
    if is_lazy(ordered):  # chunks of whole windows, so that the reshape stays chunk-wise
        chunk_y, chunk_x = (max(1, -(-max(c) // s)) * s for c, s in zip(ordered.chunks[-2:], (sy, sx)))
        values = values.rechunk({len(lead): chunk_y, len(lead) + 1: chunk_x})
    blocks = values.reshape(*lead, ny, sy, nx, sx)
    blocks = np.moveaxis(blocks, len(lead) + 1, len(lead) + 2).reshape(*lead, ny, nx, sy * sx)
    centres = {
        "y": ordered.coords["y"].values.astype(float).reshape(ny, sy).mean(axis=1),
        "x": ordered.coords["x"].values.astype(float).reshape(nx, sx).mean(axis=1),
    }
    coords = {d: ordered.coords[d] for d in others if d in ordered.coords}
    windows = xr.DataArray(blocks, dims=(*others, "y", "x", ARRAY_DIM), coords={**coords, **centres}, attrs=data.attrs)
    res = reducer(data=windows, context=args.get("context"))
    template = windows.isel({ARRAY_DIM: 0}, drop=True)
    res = _single_value(res, pid)
    out = as_like(res, template).transpose(*data.dims)
    rx, ry = pixel_size(data)
    return with_attrs(out, data, dimension_types=_types(data), res_x=rx * sx, res_y=ry * sy, resolution=[rx * sx, ry * sy])


@process("apply_dimension")
def apply_dimension(args: dict, ctx: Any) -> xr.DataArray:
    pid = "apply_dimension"
    data = require_cube(required(args, "data", pid), pid)
    fn = required(args, "process", pid)
    dim = require_dimension(data, required(args, "dimension", pid))
    target = args.get("target_dimension") or dim
    types = _types(data)
    arr = data.rename({dim: ARRAY_DIM})
    res = fn(data=arr, context=args.get("context"))
    template = arr
    if not isinstance(res, xr.DataArray) or ARRAY_DIM not in res.dims:
        res = as_like(res, arr.isel({ARRAY_DIM: 0}, drop=True)).expand_dims(ARRAY_DIM)
    others = [d for d in template.dims if d != ARRAY_DIM]
    res = res.broadcast_like(template.isel({ARRAY_DIM: 0}, drop=True)) if any(d not in res.dims for d in others) else res
    res = res.transpose(*[d if d != ARRAY_DIM else ARRAY_DIM for d in template.dims])
    n_in, n_out = data.sizes[dim], res.sizes[ARRAY_DIM]
    if target == dim:
        if n_in == n_out and dim in data.coords:
            res = res.assign_coords({ARRAY_DIM: data.coords[dim].values})
        elif n_in != n_out:
            res = res.drop_vars(ARRAY_DIM, errors="ignore").assign_coords({ARRAY_DIM: np.arange(n_out)})
        out = res.rename({ARRAY_DIM: dim})
        if n_in != n_out and types[dim] == TEMPORAL:
            types[dim] = OTHER
        return with_attrs(out, data, dimension_types=types)
    if target in data.dims:
        if data.sizes[target] != 1:
            raise ProcessError("ProcessParameterInvalid",
                               f"{pid}: target dimension {target!r} exists with more than one label; cannot place results in it.")
        res = res.isel({target: 0}, drop=True)
        target_type = types[target]
    else:
        target_type = dimension_type(xr.DataArray(0).expand_dims(target), target)
    res = res.drop_vars(ARRAY_DIM, errors="ignore").assign_coords({ARRAY_DIM: np.arange(n_out)}).rename({ARRAY_DIM: target})
    types = {d: t for d, t in types.items() if d in res.dims}
    types[target] = target_type
    return with_attrs(res, data, dimension_types=types)


@process("add_dimension")
def add_dimension(args: dict, ctx: Any) -> xr.DataArray:
    pid = "add_dimension"
    data = require_cube(required(args, "data", pid), pid)
    name, label = required(args, "name", pid), required(args, "label", pid)
    dtype = args.get("type", OTHER)
    if name in data.dims:
        raise ProcessError("DimensionExists", f"A dimension with the specified name {name!r} exists already.")
    if dtype == TEMPORAL and isinstance(label, str):
        label = to_datetime64(label)
    out = data.expand_dims({name: [label]})
    return with_attrs(out, data, dimension_types={**_types(data), name: dtype})


@process("drop_dimension")
def drop_dimension(args: dict, ctx: Any) -> xr.DataArray:
    pid = "drop_dimension"
    data = require_cube(required(args, "data", pid), pid)
    name = require_dimension(data, required(args, "name", pid))
    if data.sizes[name] > 1:
        raise ProcessError("DimensionLabelCountMismatch",
                           f"The number of dimension labels exceeds one, which requires a reducer. Dimension {name!r} has {data.sizes[name]} labels.")
    return with_attrs(data.isel({name: 0}, drop=True), data, dimension_types=_dim_types_without(data, name))


@process("create_raster_cube")
def create_raster_cube(args: dict, ctx: Any) -> xr.DataArray:
    return xr.DataArray(np.nan, attrs={"dimension_types": {}})


@process("dimension_labels")
def dimension_labels(args: dict, ctx: Any) -> list:
    data = require_cube(required(args, "data", "dimension_labels"), "dimension_labels")
    dim = require_dimension(data, required(args, "dimension", "dimension_labels"))
    return [label_to_python(v) for v in labels_of(data, dim)]


@process("rename_dimension")
def rename_dimension(args: dict, ctx: Any) -> xr.DataArray:
    pid = "rename_dimension"
    data = require_cube(required(args, "data", pid), pid)
    source = require_dimension(data, required(args, "source", pid))
    target = required(args, "target", pid)
    if target in data.dims:
        raise ProcessError("DimensionExists", f"A dimension with the specified name {target!r} exists already.")
    types = {(target if d == source else d): t for d, t in _types(data).items()}
    return with_attrs(data.rename({source: target}), data, dimension_types=types)


@process("rename_labels")
def rename_labels(args: dict, ctx: Any) -> xr.DataArray:
    pid = "rename_labels"
    data = require_cube(required(args, "data", pid), pid)
    dim = require_dimension(data, required(args, "dimension", pid))
    target = list(required(args, "target", pid))
    source = list(args.get("source") or [])
    labels = [label_to_python(v) for v in labels_of(data, dim)]
    if not source:
        if len(target) != len(labels):
            raise ProcessError("LabelMismatch", "The number of labels in the parameters `source` and `target` don't match.")
        new = target
    else:
        if len(source) != len(target):
            raise ProcessError("LabelMismatch", "The number of labels in the parameters `source` and `target` don't match.")
        new = list(labels)
        for s, t in zip(source, target):
            if s not in labels:
                raise ProcessError("LabelNotAvailable", f"A label with the specified name {s!r} does not exist.")
            if t in labels and t not in source:
                raise ProcessError("LabelExists", f"A label with the specified name {t!r} exists already.")
            new[labels.index(s)] = t
    out = data.assign_coords({dim: new})
    meta = data.attrs.get("band_metadata")
    if meta and dimension_type(data, dim) == BANDS:
        mapping = dict(zip(labels, new))
        meta = [{**m, "name": mapping.get(m.get("name"), m.get("name"))} for m in meta]
        return with_attrs(out, data, band_metadata=meta)
    return with_attrs(out, data)


def _union_labels(c1: xr.DataArray, c2: xr.DataArray, dim: str) -> list:
    l1 = labels_of(c1, dim) if dim in c1.dims else []
    l2 = labels_of(c2, dim) if dim in c2.dims else []
    seen = set(l1)
    labels = list(l1) + [l for l in l2 if l not in seen]
    t = dimension_type(c1 if dim in c1.dims else c2, dim)
    if t in (SPATIAL, TEMPORAL) and labels != list(l1):
        descending = dim == "y" and len(l1) > 1 and l1[0] > l1[-1]
        labels = sorted(labels, reverse=descending)
    return labels


def _membership(cube: xr.DataArray, dims: list[str], labels: dict) -> xr.DataArray:
    mask = xr.DataArray(True)
    for d in dims:
        if d in cube.dims:
            own = set(labels_of(cube, d))
            mask = mask & xr.DataArray([l in own for l in labels[d]], dims=(d,), coords={d: labels[d]})
    return mask


@process("merge_cubes")
def merge_cubes(args: dict, ctx: Any) -> xr.DataArray:
    pid = "merge_cubes"
    c1 = require_cube(required(args, "cube1", pid), pid, "cube1")
    c2 = require_cube(required(args, "cube2", pid), pid, "cube2")
    resolver = args.get("overlap_resolver")
    dims = list(c1.dims) + [d for d in c2.dims if d not in c1.dims]
    labels = {d: _union_labels(c1, c2, d) for d in dims}

    def expand(c: xr.DataArray) -> xr.DataArray:
        c = c.reindex({d: labels[d] for d in c.dims})
        return c

    a1, a2 = expand(c1), expand(c2)
    a1, a2 = xr.broadcast(a1, a2)
    a1, a2 = a1.transpose(*dims), a2.transpose(*dims)
    in1, in2 = _membership(c1, dims, labels), _membership(c2, dims, labels)
    overlap = in1 & in2
    if bool(overlap.any()):
        if resolver is None:
            raise ProcessError("OverlapResolverMissing", "Overlapping data cubes, but no overlap resolver has been specified.")
        resolved = as_like(resolver(x=a1, y=a2, context=args.get("context")), a1)
        out = xr.where(overlap, resolved, xr.where(in1, a1, a2))
    else:
        out = xr.where(in1, a1, a2)
    out = out.transpose(*dims)
    types = {**_types(c2), **_types(c1)}
    meta = c1.attrs.get("band_metadata")
    if meta is not None and c2.attrs.get("band_metadata"):
        names = {m.get("name") for m in meta}
        meta = list(meta) + [m for m in c2.attrs["band_metadata"] if m.get("name") not in names]
    attrs = {**c2.attrs, **c1.attrs, "dimension_types": types}
    if meta is not None:
        attrs["band_metadata"] = meta
    out.attrs = attrs
    return out


def align_mask(mask: xr.DataArray, data: xr.DataArray) -> xr.DataArray:
    """Mask dimensions must exist in data; labels of equal-length spatial dims are taken from data."""
    for d in mask.dims:
        if d not in data.dims:
            raise ProcessError("ProcessParameterInvalid", f"mask: dimension {d!r} of the mask is not available in the data cube.")
    fixes = {}
    for d in mask.dims:
        if d in data.coords and mask.sizes[d] == data.sizes[d] and dimension_type(data, d) == SPATIAL:
            fixes[d] = data.coords[d].values
    if fixes:
        mask = mask.assign_coords(fixes)
    mask = mask.reindex({d: data.coords[d].values for d in mask.dims if d in data.coords and d in mask.coords})
    return mask.broadcast_like(data).transpose(*data.dims)


@process("mask")
def mask(args: dict, ctx: Any) -> xr.DataArray:
    data = require_cube(required(args, "data", "mask"), "mask")
    m = align_mask(require_cube(required(args, "mask", "mask"), "mask", "mask"), data)
    replacement = args.get("replacement")
    active = (m.fillna(0) != 0) if m.dtype != bool else m
    rep = np.nan if replacement is None else replacement
    return with_attrs(data.where(~active, rep), data)


_COMMON_NAME_FALLBACK = {"nir": ["B08", "B8", "B5"], "red": ["B04", "B4"], "green": ["B03", "B3"], "blue": ["B02", "B2"],
                         "swir16": ["B11", "B6"], "swir22": ["B12", "B7"], "nir08": ["B8A"], "rededge": ["B05"]}


def resolve_band(data: xr.DataArray, name: str) -> list:
    """Band labels matching a band name or common name (band metadata, then Sentinel-2 conventions)."""
    dim = single_dimension(data, BANDS, None, "bands")
    labels = [label_to_python(v) for v in labels_of(data, dim)]
    if name in labels:
        return [name]
    meta = data.attrs.get("band_metadata") or []
    matches = [m["name"] for m in meta if m.get("common_name") == name and m.get("name") in labels]
    if matches:
        return matches
    if not meta:
        for cand in _COMMON_NAME_FALLBACK.get(name, []):
            if cand in labels:
                return [cand]
    return []


@process("normalized_difference")
def normalized_difference(args: dict, ctx: Any) -> Any:
    x, y = required(args, "x", "normalized_difference"), required(args, "y", "normalized_difference")
    if x is None or y is None:
        return None
    with np.errstate(all="ignore"):
        if not (is_arraylike(x) or is_arraylike(y)):  # numbers: 0/0 is NaN (no-data), not an exception
            return py(np.float64(x - y) / np.float64(x + y))
        res = (x - y) / (x + y)
    return res


@process("ndvi")
def ndvi(args: dict, ctx: Any) -> xr.DataArray:
    pid = "ndvi"
    data = require_cube(required(args, "data", pid), pid)
    dim = single_dimension(data, BANDS, None, pid) if any(dimension_type(data, d) == BANDS for d in data.dims) else None
    if dim is None:
        raise ProcessError("DimensionAmbiguous", "ndvi: the data cube has no dimension of type bands.")
    nir_name, red_name = args.get("nir", "nir"), args.get("red", "red")
    nir, red = resolve_band(data, nir_name), resolve_band(data, red_name)
    if not nir:
        raise ProcessError("NirBandAmbiguous", f"The NIR band {nir_name!r} can't be resolved, please specify the specific NIR band name.")
    if not red:
        raise ProcessError("RedBandAmbiguous", f"The red band {red_name!r} can't be resolved, please specify the specific red band name.")
    n, r = data.sel({dim: nir[0]}, drop=True), data.sel({dim: red[0]}, drop=True)
    with np.errstate(all="ignore"):
        res = (n - r) / (n + r)
    target = args.get("target_band")
    if target is None:
        return with_attrs(res, data, dimension_types=_dim_types_without(data, dim))
    if target in [label_to_python(v) for v in labels_of(data, dim)]:
        raise ProcessError("BandExists", f"A band with the specified target name {target!r} exists already.")
    out = xr.concat([data, res.expand_dims({dim: [target]}).transpose(*data.dims)], dim=dim)
    meta = data.attrs.get("band_metadata")
    extra = {"band_metadata": list(meta) + [{"name": target}]} if meta else {}
    return with_attrs(out, data, **extra)


@process("trim_cube")
def trim_cube(args: dict, ctx: Any) -> xr.DataArray:
    data = require_cube(required(args, "data", "trim_cube"), "trim_cube")
    out = data
    # slices without data add nothing to the others' any(): every mask from the input, in one pass
    masks = compute_small(*(data.notnull().any(dim=[o for o in data.dims if o != d]) for d in data.dims))
    for d, has in zip(data.dims, masks):
        has = np.asarray(has)
        if dimension_type(data, d) in (SPATIAL, TEMPORAL):
            idx = np.flatnonzero(has)
            keep = np.arange(idx[0], idx[-1] + 1) if idx.size else np.array([], dtype=int)
        else:
            keep = np.flatnonzero(has)
        out = out.isel({d: keep})
    return with_attrs(out, data)
