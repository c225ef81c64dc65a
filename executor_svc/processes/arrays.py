"""Array processes: array_apply, array_contains, array_element, array_filter, array_find,
array_labels, order, rearrange, sort (plus proposals array_append, array_concat, array_create,
array_find_label).

Inputs are Python lists or DataArrays along ARRAY_DIM (see datacube.py); DataArray inputs are
processed for all pixels at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ._arrays import array_dim, is_lazy, map_along, to_list
from ._values import is_nodata_scalar, is_number
from .datacube import ARRAY_DIM
from .errors import ProcessError
from .registry import invalid, process, required


def _match_label(coord: xr.DataArray, label: Any) -> int | None:
    values = coord.values
    if np.issubdtype(values.dtype, np.datetime64) and isinstance(label, str):
        try:
            ts = pd.Timestamp(label)
            if ts.tzinfo is not None:
                ts = ts.tz_convert("UTC").tz_localize(None)
            label = np.datetime64(ts.to_datetime64(), "ns")
        except ValueError:
            return None
    for i, v in enumerate(values):
        if v == label or (isinstance(v, np.generic) and v.item() == label):
            return i
    return None


@process("array_element")
def array_element(args: dict, ctx: Any) -> Any:
    pid = "array_element"
    data = required(args, "data", pid)
    index, label = args.get("index"), args.get("label")
    return_nodata = args.get("return_nodata", False)
    if index is not None and label is not None:
        raise ProcessError("ArrayElementParameterConflict", "The process `array_element` only allows that either the `index` or the `labels` parameter is set.")
    if index is None and label is None:
        raise ProcessError("ArrayElementParameterMissing", "The process `array_element` requires either the `index` or `labels` parameter to be set.")
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)
        n = data.sizes[dim]
        if label is not None:
            if dim not in data.coords:
                raise ProcessError("ArrayNotLabeled", "The array is not a labeled array, but the `label` parameter is set. Use the `index` instead.")
            index = _match_label(data.coords[dim], label)
        if index is None or not (0 <= int(index) < n):
            if return_nodata:
                if data.ndim == 1:  # an element of a plain (labeled) array: null, like for lists
                    return None
                return xr.full_like(data.isel({dim: 0}, drop=True), np.nan, dtype=float) if n else np.nan
            raise ProcessError("ArrayElementNotAvailable", f"The array has no element with the specified index or label ({label if label is not None else index}).")
        return data.isel({dim: int(index)}, drop=True)
    items = to_list(data)
    if label is not None:
        raise ProcessError("ArrayNotLabeled", "The array is not a labeled array, but the `label` parameter is set. Use the `index` instead.")
    if not (0 <= int(index) < len(items)):
        if return_nodata:
            return None
        raise ProcessError("ArrayElementNotAvailable", f"The array has no element with the specified index ({index}).")
    return items[int(index)]


@process("array_labels")
def array_labels(args: dict, ctx: Any) -> list:
    data = required(args, "data", "array_labels")
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)
        if dim in data.coords:
            from .datacube import label_to_python

            return [label_to_python(v) for v in data.coords[dim].values]
        return list(range(data.sizes[dim]))
    return list(range(len(to_list(data))))


def _strict_equal(a: Any, b: Any) -> bool:
    if is_nodata_scalar(a) and is_nodata_scalar(b):
        return True
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return False
    if is_number(a) and is_number(b):
        return a == b
    if type(a) is not type(b):
        return False
    return a == b


@process("array_contains")
def array_contains(args: dict, ctx: Any) -> Any:
    data, value = required(args, "data", "array_contains"), required(args, "value", "array_contains")
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)
        if value is None:
            return data.isnull().any(dim=dim)
        if not is_number(value) and not isinstance(value, bool):
            return xr.zeros_like(data.isel({dim: 0}, drop=True), dtype=bool)
        return (data == value).any(dim=dim)
    return any(_strict_equal(v, value) for v in to_list(data))


@process("array_find")
def array_find(args: dict, ctx: Any) -> Any:
    data, value = required(args, "data", "array_find"), required(args, "value", "array_find")
    reverse = args.get("reverse", False)
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)
        n = data.sizes[dim]
        eq = data.isnull() if value is None else (data == value)
        axis = data.get_axis_num(dim)
        values = eq.values
        if reverse:
            idx = n - 1 - np.argmax(np.flip(values, axis=axis), axis=axis)
        else:
            idx = np.argmax(values, axis=axis)
        res = np.where(values.any(axis=axis), idx, np.nan).astype(float)
        template = data.isel({dim: 0}, drop=True)
        return xr.DataArray(res, dims=template.dims, coords=template.coords)
    items = to_list(data)
    order = range(len(items) - 1, -1, -1) if reverse else range(len(items))
    for i in order:
        if _strict_equal(items[i], value):
            return i
    return None


@process("array_find_label", experimental=True)
def array_find_label(args: dict, ctx: Any) -> Any:
    data, label = required(args, "data", "array_find_label"), required(args, "label", "array_find_label")
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)
        if dim in data.coords:
            return _match_label(data.coords[dim], label)
    return None


def _elementwise_params(da: xr.DataArray, dim: str) -> dict:
    n = da.sizes[dim]
    index = xr.DataArray(np.arange(n), dims=(dim,))
    labels = da.coords[dim] if dim in da.coords else index
    return {"index": index, "label": labels}


@process("array_apply")
def array_apply(args: dict, ctx: Any) -> Any:
    data, fn = required(args, "data", "array_apply"), required(args, "process", "array_apply")
    context = args.get("context")
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)
        res = fn(x=data, context=context, **_elementwise_params(data, dim))
        if isinstance(res, xr.DataArray):
            return res.broadcast_like(data) if dim not in res.dims else res
        return xr.full_like(data, res, dtype=float if res is None or is_number(res) else object)
    items = to_list(data)
    return [fn(x=v, index=i, label=i, context=context) for i, v in enumerate(items)]


@process("array_filter")
def array_filter(args: dict, ctx: Any) -> Any:
    data, cond = required(args, "data", "array_filter"), required(args, "condition", "array_filter")
    context = args.get("context")
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)
        keep = cond(x=data, context=context, **_elementwise_params(data, dim))
        keep = xr.DataArray(keep) if not isinstance(keep, xr.DataArray) else keep
        keep = keep.fillna(0) == 1 if keep.dtype != bool else keep
        if set(keep.dims) <= {dim}:
            if dim not in keep.dims:
                return data if bool(keep) else data.isel({dim: []})
            return data.isel({dim: np.flatnonzero(keep.values)})
        # The condition varies per pixel: arrays cannot be ragged, so filtered-out elements become no-data.
        return data.where(keep)
    items = to_list(data)
    return [v for i, v in enumerate(items) if cond(x=v, index=i, label=i, context=context) is True]


def _sort_key_list(items: list) -> list:
    return [v for v in items]


def _order_indices(items: list, asc: bool, nodata: Any) -> list:
    valid = [i for i, v in enumerate(items) if not is_nodata_scalar(v)]
    missing = [i for i, v in enumerate(items) if is_nodata_scalar(v)]
    valid = sorted(valid, key=lambda i: items[i], reverse=not asc)
    if not asc:
        # sorted(reverse=True) keeps equal elements in original order, as required.
        pass
    if nodata is None:
        return valid
    return valid + missing if nodata else missing + valid


def _order_values(values: np.ndarray, axis: int, asc: bool, nodata: Any) -> np.ndarray:
    key = values if asc else -values
    idx = np.argsort(key, axis=axis, kind="stable")  # NaN last
    if nodata is False:
        n_nan = np.isnan(values).sum(axis=axis, keepdims=True)
        n = values.shape[axis]
        shift = np.broadcast_to(n_nan, idx.shape)
        pos = (np.arange(n).reshape([-1 if a == axis % values.ndim else 1 for a in range(values.ndim)]) - shift) % n
        idx = np.take_along_axis(idx, pos, axis=axis)
    return idx


@process("order")
def order(args: dict, ctx: Any) -> Any:
    data = required(args, "data", "order")
    asc, nodata = args.get("asc", True), args.get("nodata")
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)
        res = map_along(data, dim, lambda v, axis: _order_values(v, axis, asc, nodata), dtype=np.float64)
        res = res.drop_vars([k for k, v in res.coords.items() if dim in v.dims])
        res.attrs = {}
        if nodata is None:
            n_valid = data.notnull().sum(dim=dim)
            pos = xr.DataArray(np.arange(data.sizes[dim]), dims=(dim,))
            res = res.where(pos < n_valid)
        return res
    return _order_indices(to_list(data), asc, nodata)


@process("sort")
def sort(args: dict, ctx: Any) -> Any:
    data = required(args, "data", "sort")
    asc, nodata = args.get("asc", True), args.get("nodata")
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)

        def sorted_values(values: np.ndarray, axis: int) -> np.ndarray:
            return np.take_along_axis(values, _order_values(values, axis, asc, nodata), axis=axis)

        res = map_along(data, dim, sorted_values)
        return res.drop_vars([k for k, v in res.coords.items() if dim in v.dims])
    items = to_list(data)
    return [items[i] if not is_nodata_scalar(items[i]) else None for i in _order_indices(items, asc, nodata)]


@process("rearrange")
def rearrange(args: dict, ctx: Any) -> Any:
    data, order_ = required(args, "data", "rearrange"), required(args, "order", "rearrange")
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)
        if isinstance(order_, xr.DataArray):
            index = order_.fillna(0).astype(int)
            if is_lazy(data) or is_lazy(index):  # the dimension in one chunk, aligned
                data, index = data.chunk({dim: -1}), index.chunk({dim: -1})
            res = xr.apply_ufunc(lambda v, i: np.take_along_axis(v, i, axis=-1), data, index,
                                 input_core_dims=[[dim], [dim]], output_core_dims=[[dim]],
                                 dask="parallelized", output_dtypes=[data.dtype])
            return res.transpose(*data.dims).drop_vars([k for k, v in res.coords.items() if dim in v.dims])
        return data.isel({dim: [int(i) for i in order_]})
    items = to_list(data)
    try:
        return [items[int(i)] for i in order_]
    except IndexError:
        raise ProcessError("ArrayElementNotAvailable", "rearrange: an index in `order` is out of range.") from None


# --- proposals -----------------------------------------------------------------------------------


@process("array_append", experimental=True)
def array_append(args: dict, ctx: Any) -> Any:
    data, value = required(args, "data", "array_append"), required(args, "value", "array_append")
    label = args.get("label")
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)
        extra = xr.full_like(data.isel({dim: [0]}), np.nan if value is None else value, dtype=float) if not isinstance(value, xr.DataArray) \
            else value.expand_dims(dim).transpose(*data.dims)
        if dim in data.coords:
            extra = extra.assign_coords({dim: [label if label is not None else data.sizes[dim]]})
        return xr.concat([data, extra], dim=dim)
    return to_list(data) + [value]


@process("array_concat", experimental=True)
def array_concat(args: dict, ctx: Any) -> Any:
    a1, a2 = required(args, "array1", "array_concat"), required(args, "array2", "array_concat")
    if isinstance(a1, xr.DataArray) and isinstance(a2, xr.DataArray):
        dim = array_dim(a1)
        return xr.concat([a1, a2.rename({array_dim(a2): dim})], dim=dim)
    return to_list(a1) + to_list(a2)


@process("array_create", experimental=True)
def array_create(args: dict, ctx: Any) -> list:
    data = args.get("data") or []
    repeat = int(args.get("repeat", 1))
    if repeat < 1:
        raise invalid("array_create", "repeat", "must be >= 1.")
    items = to_list(data)
    ctx.budget.check_elements(len(items) * repeat, "array_create")
    return items * repeat


def _elements_like(values: list, data: xr.DataArray, dim: str) -> list[xr.DataArray]:
    """Each of `values` as one element of `data` along `dim` (scalars broadcast to every pixel)."""
    template = data.isel({dim: [0]}, drop=False).drop_vars(dim, errors="ignore")
    out = []
    for value in values:
        if isinstance(value, xr.DataArray):
            out.append(value.expand_dims(dim).transpose(*data.dims))
        else:
            out.append(xr.full_like(template, np.nan if value is None else value, dtype=float))
    return out


@process("array_modify", experimental=True)
def array_modify(args: dict, ctx: Any) -> Any:
    """Removes `length` elements at `index` and inserts `values` there; labels are discarded."""
    pid = "array_modify"
    data, values, index = required(args, "data", pid), required(args, "values", pid), required(args, "index", pid)
    length = args.get("length", 1)
    for name, value in (("index", index), ("length", length)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise invalid(pid, name, "must be an integer >= 0.")
    values = to_list(values)
    if isinstance(data, xr.DataArray):
        dim = array_dim(data)
        size = data.sizes[dim]
        if index > size:
            raise ProcessError("ArrayElementNotAvailable", "The array can't be modified as the given index is larger than the number of elements in the array.")
        plain = data.drop_vars(dim, errors="ignore")
        pieces = [plain.isel({dim: slice(0, index)}), *_elements_like(values, plain, dim),
                  plain.isel({dim: slice(min(size, index + length), size)})]
        pieces = [p for p in pieces if p.sizes[dim] > 0]
        if not pieces:
            return plain.isel({dim: slice(0, 0)})
        return xr.concat(pieces, dim=dim, coords="minimal", compat="override")
    items = to_list(data)
    if index > len(items):
        raise ProcessError("ArrayElementNotAvailable", "The array can't be modified as the given index is larger than the number of elements in the array.")
    return items[:index] + values + items[index + length:]


@process("array_create_labeled", experimental=True)
def array_create_labeled(args: dict, ctx: Any) -> xr.DataArray:
    """A labeled array (a 1-D DataArray whose coordinate holds the labels)."""
    pid = "array_create_labeled"
    data, labels = to_list(required(args, "data", pid)), to_list(required(args, "labels", pid))
    if len(data) != len(labels):
        raise ProcessError("ArrayLengthMismatch", "The number of values in the parameters `data` and `labels` don't match.")
    if len(set(labels)) != len(labels):
        raise invalid(pid, "labels", "labels must be unique.")
    values = np.array([np.nan if v is None else v for v in data], dtype=float) \
        if all(v is None or is_number(v) for v in data) else np.array(data, dtype=object)
    return xr.DataArray(values, dims=(ARRAY_DIM,), coords={ARRAY_DIM: labels})
