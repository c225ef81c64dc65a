"""Statistical reducers: sum, product, mean, median, min, max, sd, variance, extrema, quantiles,
first, last, count.

Input is a Python list (result: Python value) or a DataArray "array along a dimension"
(:data:`~executor_svc.processes.datacube.ARRAY_DIM` or a 1-D array; result: DataArray without
that dimension, computed for all pixels at once).
"""

from __future__ import annotations

import warnings
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


def _stat(pid: str, nan_fn: Callable, fn: Callable, min_count: int = 1) -> Callable:
    @process(pid)
    def impl(args: dict, ctx: Any) -> Any:
        data = required(args, "data", pid)
        ignore = args.get("ignore_nodata", True)
        conv = as_xarray(data)
        if conv is None:
            raise invalid(pid, "data", "expected an array of numbers.")
        da, dim = conv

        def reduce(values: np.ndarray, axis: int) -> np.ndarray:
            n_valid = np.sum(~np.isnan(values), axis=axis)
            if values.shape[axis] == 0:
                return np.full(n_valid.shape, np.nan)
            if ignore:
                res = nan_fn(values, axis=axis)
                return np.where(n_valid >= min_count, res, np.nan)
            res = fn(values, axis=axis)
            return np.where(n_valid >= min_count, res, np.nan)

        return output(_apply_along(da, dim, reduce), not isinstance(data, xr.DataArray))

    impl.__name__ = pid
    return impl


def _accumulating_in_float64(fn: Callable) -> Callable:
    """`fn` summing in a float64 accumulator (the output's size, not the input's) and answering
    in the input's float type: a float32 sum over many pixels drifts by up to n * 6e-8."""
    def reduce(values: np.ndarray, axis: int) -> np.ndarray:
        out = fn(values, axis=axis, dtype=np.float64)
        if np.issubdtype(values.dtype, np.floating):
            return np.asarray(out).astype(values.dtype, copy=False)
        return out

    return reduce


_stat("sum", _accumulating_in_float64(np.nansum), _accumulating_in_float64(np.sum))
_stat("product", np.nanprod, np.prod)
_stat("mean", _accumulating_in_float64(np.nanmean), _accumulating_in_float64(np.mean))
_stat("median", np.nanmedian, np.median)
_stat("min", np.nanmin, np.min)
_stat("max", np.nanmax, np.max)
_stat("sd", lambda v, axis: np.nanstd(v, axis=axis, ddof=1), lambda v, axis: np.std(v, axis=axis, ddof=1), min_count=2)
_stat("variance", lambda v, axis: np.nanvar(v, axis=axis, ddof=1), lambda v, axis: np.var(v, axis=axis, ddof=1), min_count=2)


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
    v = np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1)
    if v.shape[-1] == 0:
        return np.full(v.shape[:-1], np.nan)
    ordered = np.sort(v, axis=-1)  # NaN sort last
    valid = np.sum(~np.isnan(v), axis=-1)
    h = (np.maximum(valid, 1) - 1) * p
    lower = np.floor(h).astype(np.intp)
    upper = np.minimum(lower + 1, np.maximum(valid - 1, 0))
    a = np.take_along_axis(ordered, lower[..., np.newaxis], axis=-1)[..., 0]
    b = np.take_along_axis(ordered, upper[..., np.newaxis], axis=-1)[..., 0]
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
            nan = np.isnan(values)
            if ignore:
                neutral = {"cumsum": 0.0, "cumproduct": 1.0, "cummax": -np.inf, "cummin": np.inf}[pid]
                res = fn(np.where(nan, neutral, values), axis=axis)
                return np.where(nan, np.nan, res)  # no-data stays no-data, others accumulate over valid values
            res = fn(values, axis=axis)
            return np.where(np.maximum.accumulate(nan, axis=axis), np.nan, res)

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
