"""Statistical reducers: sum, product, mean, median, min, max, sd, variance, extrema, quantiles,
first, last, count.

Input is a Python list (result: Python value) or a DataArray "array along a dimension"
(:data:`~executor_svc.processes.datacube.ARRAY_DIM` or a 1-D array; result: DataArray without
that dimension, computed for all pixels at once).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import xarray as xr

from ._arrays import as_xarray, float_type, map_along, output, reduce_along, to_list
from ._values import is_nodata_scalar
from .datacube import ARRAY_DIM
from .errors import ProcessError
from .registry import invalid, process, required


def _apply_along(da: xr.DataArray, dim: str, fn: Callable[[np.ndarray, int], np.ndarray]) -> xr.DataArray:
    out = reduce_along(da, dim, fn)
    return out.drop_vars([k for k, v in out.coords.items() if dim in v.dims or k == dim])


def _stat(pid: str, reduce_fn: Callable[[np.ndarray, int, bool], np.ndarray]) -> Callable:
    """A reducer process: `reduce_fn(values, axis, ignore_nodata)` reduces a non-empty axis."""
    @process(pid)
    def impl(args: dict, ctx: Any) -> Any:
        data = required(args, "data", pid)
        ignore = args.get("ignore_nodata", True)
        conv = as_xarray(data)
        if conv is None:
            raise invalid(pid, "data", "expected an array of numbers.")
        da, dim = conv

        def reduce(values: np.ndarray, axis: int) -> np.ndarray:
            if values.shape[axis] == 0:
                return np.full(np.delete(values.shape, axis), np.nan)
            return reduce_fn(values, axis, ignore)

        return output(_apply_along(da, dim, reduce), not isinstance(data, xr.DataArray))

    impl.__name__ = pid
    return impl


def _nan_planes(values: np.ndarray, axis: int):
    """Each slice of `values` along `axis` with its NaN mask (one mask buffer of the output's
    size, reused: no temporary of the input's size)."""
    nan = np.empty(np.delete(values.shape, axis), dtype=bool)
    for plane in np.moveaxis(values, axis, 0):
        np.isnan(plane, out=nan)
        yield plane, nan


def _counter(values: np.ndarray, axis: int) -> np.ndarray:
    """Zeros of the output's shape in the smallest unsigned type that counts to the axis' length
    (one byte per pixel for a few bands or dates)."""
    return np.zeros(np.delete(values.shape, axis), dtype=np.min_scalar_type(values.shape[axis]))


def valid_count(values: np.ndarray, axis: int) -> np.ndarray:
    """How many values along `axis` are not NaN (in `_counter`'s unsigned type)."""
    nan_count = _counter(values, axis)
    for _, nan in _nan_planes(values, axis):
        nan_count += nan
    return values.shape[axis] - nan_count


def _numpy_stat(nan_fn: Callable, fn: Callable, min_count: int = 1) -> Callable:
    """NumPy's reduction (`nan_fn` ignoring no-data, `fn` not), NaN where fewer than `min_count`
    values are valid."""
    def reduce(values: np.ndarray, axis: int, ignore_nodata: bool) -> np.ndarray:
        res = (nan_fn if ignore_nodata else fn)(values, axis=axis)
        return np.where(valid_count(values, axis) >= min_count, res, np.nan)

    return reduce


def sum_and_count(values: np.ndarray, axis: int, ignore_nodata: bool) -> tuple[np.ndarray, np.ndarray]:
    """The sum along `axis` in a float64 accumulator of the output's size (a float32 sum over many
    values drifts by up to n * 6e-8) and how many values are not NaN. One slice of the axis at a
    time, so every temporary has the output's size: NumPy's nansum/nanmean copy the whole input
    to zero its NaN and a float64 `dtype` converts it again. Without `ignore_nodata` a NaN makes
    the sum NaN."""
    total = np.zeros(np.delete(values.shape, axis), dtype=np.float64)
    nan_count = _counter(values, axis)
    for plane, nan in _nan_planes(values, axis):
        nan_count += nan
        if ignore_nodata:
            np.add(total, plane, out=total, where=~nan)
        else:
            total += plane
    return total, values.shape[axis] - nan_count


def _in_float_type(values: np.ndarray, result: np.ndarray) -> np.ndarray:
    """A float64 result in the input's float type (float32 stays float32)."""
    return result.astype(values.dtype, copy=False) if np.issubdtype(values.dtype, np.floating) else result


def _sum(values: np.ndarray, axis: int, ignore_nodata: bool) -> np.ndarray:
    if values.shape[axis] == 1:  # one value (e.g. one date in a period): itself, no-data stays no-data
        return np.take(values, 0, axis=axis)
    total, valid = sum_and_count(values, axis, ignore_nodata)
    total[valid == 0] = np.nan  # nothing to add up: no-data, not 0
    return _in_float_type(values, total)


def _mean(values: np.ndarray, axis: int, ignore_nodata: bool) -> np.ndarray:
    if values.shape[axis] == 1:
        return np.take(values, 0, axis=axis)
    total, valid = sum_and_count(values, axis, ignore_nodata)
    out = np.empty(total.shape, dtype=values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(total, valid, out=out, casting="same_kind")  # 0 / 0 is NaN: no value valid
    return out


_stat("sum", _sum)
_stat("product", _numpy_stat(np.nanprod, np.prod))
_stat("mean", _mean)
_median_with_nodata = _numpy_stat(np.nanmedian, np.median)


def _median(values: np.ndarray, axis: int, ignore_nodata: bool) -> np.ndarray:
    """The median of the valid values: the axis sorted (NaN last) in one copy laid out along it,
    then the middle one or two values by each pixel's valid count. NumPy's nanmedian goes
    through masked arrays for short axes (argsort and fancy indexing: 4-6x slower)."""
    if not ignore_nodata:
        return _median_with_nodata(values, axis, ignore_nodata)
    moved = np.moveaxis(values, axis, -1)
    n = moved.shape[-1]
    ordered = np.array(moved, order="C").reshape(-1, n)  # one row per pixel (a copy: sorted in place)
    ordered.sort(axis=-1)
    valid = np.full(len(ordered), n, dtype=np.intp)
    has_nan = np.isnan(ordered[:, -1])  # NaN sort last: only these pixels have any
    if has_nan.any():
        valid[has_nan] = n - np.count_nonzero(np.isnan(ordered[has_nan]), axis=-1)
    rows = np.arange(len(ordered))
    lower = ordered[rows, np.maximum(valid - 1, 0) // 2]
    upper = ordered[rows, np.minimum(valid // 2, n - 1)]
    with np.errstate(invalid="ignore", over="ignore"):
        median = (lower.astype(np.float64) + upper) * 0.5  # the midpoint of two float32, exactly rounded
    median[valid == 0] = np.nan
    return _in_float_type(values, median.reshape(moved.shape[:-1]))


_stat("median", _median)
_stat("min", _numpy_stat(np.nanmin, np.min))
_stat("max", _numpy_stat(np.nanmax, np.max))
_stat("sd", _numpy_stat(lambda v, axis: np.nanstd(v, axis=axis, ddof=1), lambda v, axis: np.std(v, axis=axis, ddof=1),
                        min_count=2))
_stat("variance", _numpy_stat(lambda v, axis: np.nanvar(v, axis=axis, ddof=1),
                              lambda v, axis: np.var(v, axis=axis, ddof=1), min_count=2))


def _stack(results: list[xr.DataArray], labels: list, was_python: bool) -> Any:
    if was_python:
        return [output(r, True) for r in results]
    return xr.concat(results, dim=ARRAY_DIM).assign_coords({ARRAY_DIM: labels})


@process("extrema")
def extrema(args: dict, ctx: Any) -> Any:
    data = required(args, "data", "extrema")
    ignore = args.get("ignore_nodata", True)
    sub = {"data": data, "ignore_nodata": ignore}
    from .registry import REGISTRY

    lo, hi = REGISTRY.call("min", sub, ctx), REGISTRY.call("max", sub, ctx)
    if isinstance(data, xr.DataArray):
        return _stack([lo, hi], ["min", "max"], False)
    return [lo, hi]


def nanquantile(values: np.ndarray, p: float, axis: int) -> np.ndarray:
    """`np.nanquantile(values, p, axis)` (linear, type 7) vectorised: NumPy falls back to a
    Python loop over every other position as soon as one NaN is present (seconds for a cube)."""
    v = np.moveaxis(np.asarray(values), axis, -1)
    if not np.issubdtype(v.dtype, np.floating):
        v = v.astype(np.float64)
    if v.shape[-1] == 0:
        return np.full(v.shape[:-1], np.nan)
    ordered = np.sort(v, axis=-1)  # NaN sort last; in the input's float type (float64 at the output's size below)
    valid = valid_count(ordered, -1).astype(np.intp)  # (its counter is unsigned: valid - 1 below)
    h = (np.maximum(valid, 1) - 1) * p
    lower = np.floor(h).astype(np.intp)
    upper = np.minimum(lower + 1, np.maximum(valid - 1, 0))
    a = np.take_along_axis(ordered, lower[..., np.newaxis], axis=-1)[..., 0].astype(np.float64)
    b = np.take_along_axis(ordered, upper[..., np.newaxis], axis=-1)[..., 0].astype(np.float64)
    with np.errstate(invalid="ignore"):
        result = a + (h - lower) * (b - a)
    result = np.where(h == lower, a, result)  # exact positions (also keeps infinities exact)
    return np.where(valid > 0, result, np.nan)


@process("quantiles")
def quantiles(args: dict, ctx: Any) -> Any:
    pid = "quantiles"
    data = required(args, "data", pid)
    probs, q = args.get("probabilities"), args.get("q")
    if probs is None and q is None:
        raise ProcessError("QuantilesParameterMissing", "The process `quantiles` requires either the `probabilities` or `q` parameter to be set.")
    if probs is not None and q is not None:
        raise ProcessError("QuantilesParameterConflict", "The process `quantiles` only allows that either the `probabilities` or the `q` parameter is set.")
    if probs is None:
        q = int(q)
        if q < 2:
            raise invalid(pid, "q", "must be at least 2.")
        probs = [i / q for i in range(1, q)]
    probs = [float(p) for p in probs]
    ignore = args.get("ignore_nodata", True)
    conv = as_xarray(data)
    if conv is None:
        raise invalid(pid, "data", "expected an array of numbers.")
    da, dim = conv
    was_python = not isinstance(data, xr.DataArray)

    def one(p: float) -> xr.DataArray:
        def fn(values: np.ndarray, axis: int) -> np.ndarray:
            if values.shape[axis] == 0:
                return np.full(np.delete(values.shape, axis), np.nan)
            # Hyndman & Fan type 7 == numpy's default "linear" method.
            if ignore:
                return nanquantile(values, p, axis=axis)
            return np.quantile(values, p, axis=axis)

        return _apply_along(da, dim, fn)

    results = [one(p) for p in probs]
    if was_python:
        return [None if r is None else round(r, 10) for r in (output(x, True) for x in results)]
    return _stack(results, probs, False)


def _first_last(pid: str, last: bool) -> None:
    @process(pid)
    def impl(args: dict, ctx: Any) -> Any:
        data = required(args, "data", pid)
        ignore = args.get("ignore_nodata", True)
        if isinstance(data, xr.DataArray):
            da, dim = as_xarray(data)

            def fn(values: np.ndarray, axis: int) -> np.ndarray:
                n = values.shape[axis]
                if n == 0:
                    return np.full(np.delete(values.shape, axis), np.nan)
                if not ignore:
                    return np.take(values, n - 1 if last else 0, axis=axis)
                valid = ~np.isnan(values)
                if last:
                    idx = n - 1 - np.argmax(np.flip(valid, axis=axis), axis=axis)
                else:
                    idx = np.argmax(valid, axis=axis)
                picked = np.take_along_axis(values, np.expand_dims(idx, axis), axis=axis).squeeze(axis)
                return np.where(valid.any(axis=axis), picked, np.nan)

            return _apply_along(da, dim, fn)
        items = to_list(data)
        if last:
            items = items[::-1]
        for v in items:
            if not ignore or not is_nodata_scalar(v):
                return None if is_nodata_scalar(v) else v
        return None

    impl.__name__ = pid


_first_last("first", last=False)
_first_last("last", last=True)


def _is_valid_scalar(v: Any) -> bool:
    if is_nodata_scalar(v):
        return False
    if isinstance(v, float) and not np.isfinite(v):
        return False
    return True


@process("count")
def count(args: dict, ctx: Any) -> Any:
    data = required(args, "data", "count")
    condition = args.get("condition")
    context = args.get("context")
    if isinstance(data, xr.DataArray):
        da, dim = as_xarray(data)
        if condition is None:
            return np.isfinite(da).sum(dim=dim)
        if condition is True:
            return xr.full_like(da.isel({dim: 0}, drop=True), da.sizes[dim], dtype=float)
        res = condition(x=da, element=da, context=context)
        res = xr.DataArray(res) if not isinstance(res, xr.DataArray) else res
        return (res.fillna(0) == 1).sum(dim=dim) if dim in res.dims else (res == 1) * da.sizes[dim]
    items = to_list(data)
    if condition is None:
        return sum(1 for v in items if _is_valid_scalar(v))
    if condition is True:
        return len(items)
    return sum(1 for v in items if condition(x=v, element=v, context=context) is True)


# --- proposals: cumulative processes -----------------------------------------------------------


def _cumulative(pid: str, fn: Any) -> None:
    @process(pid, experimental=True)
    def impl(args: dict, ctx: Any) -> Any:
        data = required(args, "data", pid)
        ignore = args.get("ignore_nodata", True)
        conv = as_xarray(data)
        if conv is None:
            raise invalid(pid, "data", "expected an array of numbers.")
        da, dim = conv

        def accumulate(values: np.ndarray, axis: int) -> np.ndarray:
            # one array of the input's size, accumulated and masked in place
            nan = np.isnan(values)
            if ignore:
                neutral = {"cumsum": 0.0, "cumproduct": 1.0, "cummax": -np.inf, "cummin": np.inf}[pid]
                res = np.where(nan, values.dtype.type(neutral), values)
                fn(res, axis=axis, out=res)
                res[nan] = np.nan  # no-data stays no-data, others accumulate over valid values
                return res
            res = fn(values, axis=axis)
            np.maximum.accumulate(nan, axis=axis, out=nan)
            res[nan] = np.nan
            return res

        return output(map_along(da, dim, accumulate), not isinstance(data, xr.DataArray))

    impl.__name__ = pid


_cumulative("cumsum", np.cumsum)
_cumulative("cumproduct", np.cumprod)
_cumulative("cummax", np.maximum.accumulate)
_cumulative("cummin", np.minimum.accumulate)


# --- proposal: array_interpolate_linear --------------------------------------------------------


@process("array_interpolate_linear", experimental=True)
def array_interpolate_linear(args: dict, ctx: Any) -> Any:
    """No-data values between two numbers become linear interpolants (xarray's interpolate_na),
    by the array's labels where they are times or numbers, else by position; leading and
    trailing no-data stay, and an array with fewer than two numbers stays as it is."""
    data = required(args, "data", "array_interpolate_linear")
    conv = as_xarray(data)
    if conv is None:
        raise invalid("array_interpolate_linear", "data", "expected an array of numbers and no-data values.")
    da, dim = conv
    da = da.astype(float_type(da.dtype))
    coord = da.coords.get(dim)
    by_label = coord is not None and (np.issubdtype(coord.dtype, np.number) or np.issubdtype(coord.dtype, np.datetime64))
    if by_label:
        steps = np.diff(coord.values)
        by_label = bool((steps > np.zeros_like(steps)).all())  # labels out of order: positions
    if da.sizes[dim] < 3:
        return output(da, not isinstance(data, xr.DataArray))
    if by_label:
        x = coord.values.astype("datetime64[ns]").astype(np.int64) if np.issubdtype(coord.dtype, np.datetime64) \
            else coord.values
    else:
        x = np.arange(da.sizes[dim])
    x = np.asarray(x, dtype=np.float64)
    filled = map_along(da, dim, lambda values, axis: interpolate_gaps(values, x, axis))
    return output(filled, not isinstance(data, xr.DataArray))


def interpolate_gaps(values: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    """NaN between two numbers along `axis` replaced by the linear interpolant at `x` (the
    positions along the axis); leading and trailing NaN stay. Vectorised (xarray's
    interpolate_na calls NumPy once per pixel: seconds for a cube)."""
    v = np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1)
    n = v.shape[-1]
    valid = ~np.isnan(v)
    index = np.arange(n)
    before = np.maximum.accumulate(np.where(valid, index, -1), axis=-1)  # last number at or before
    after = np.minimum.accumulate(np.where(valid, index, n)[..., ::-1], axis=-1)[..., ::-1]  # first at or after
    gap = ~valid & (before >= 0) & (after < n)
    lo, hi = np.clip(before, 0, n - 1), np.clip(after, 0, n - 1)
    v_lo, v_hi = np.take_along_axis(v, lo, axis=-1), np.take_along_axis(v, hi, axis=-1)
    x_lo, x_hi = x[lo], x[hi]
    with np.errstate(invalid="ignore", divide="ignore"):
        filled = v_lo + (x - x_lo) / (x_hi - x_lo) * (v_hi - v_lo)
    return np.moveaxis(np.where(gap, filled, v), -1, axis)
