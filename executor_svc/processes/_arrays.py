"""Common handling of openEO *arrays*: Python lists or labelled DataArrays along ARRAY_DIM."""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np
import xarray as xr

from ._values import numeric_list
from .datacube import ARRAY_DIM
from .errors import ProcessError


def array_dim(data: xr.DataArray) -> str:
    """The dimension an array process works along: ARRAY_DIM, or the only dimension of a 1-D array."""
    if ARRAY_DIM in data.dims:
        return ARRAY_DIM
    if data.ndim == 1:
        return data.dims[0]
    raise ProcessError(
        "ProcessParameterInvalid",
        f"Expected an array, got a data cube with dimensions {list(data.dims)}; use reduce_dimension/apply_dimension.",
    )


def as_xarray(data: Any) -> tuple[xr.DataArray, str] | None:
    """Numeric data (DataArray, ndarray or list of numbers/None) as (DataArray, dim); None otherwise."""
    if isinstance(data, xr.DataArray):
        return data, array_dim(data)
    if isinstance(data, np.ndarray) and data.ndim == 1 and np.issubdtype(data.dtype, np.number):
        return xr.DataArray(data.astype(float), dims=(ARRAY_DIM,)), ARRAY_DIM
    if isinstance(data, (list, tuple)):
        arr = numeric_list(list(data))
        if arr is not None:
            return xr.DataArray(arr, dims=(ARRAY_DIM,)), ARRAY_DIM
        if all(v is None or isinstance(v, bool) for v in data):
            arr = np.array([np.nan if v is None else float(v) for v in data], dtype=float)
            return xr.DataArray(arr, dims=(ARRAY_DIM,)), ARRAY_DIM
    return None


def to_list(data: Any) -> list:
    if isinstance(data, (list, tuple)):
        return list(data)
    if isinstance(data, np.ndarray):
        return data.tolist()
    raise ProcessError("ProcessParameterInvalid", f"Expected an array, got {type(data).__name__}.")


def output(result: Any, was_python: bool) -> Any:
    """Convert a DataArray result back to Python values when the input was a plain list."""
    if not was_python:
        return result
    values = result.values if isinstance(result, xr.DataArray) else np.asarray(result)
    if values.ndim == 0:
        v = values.item()
        return None if isinstance(v, float) and np.isnan(v) else v
    return [None if isinstance(v, float) and np.isnan(v) else v for v in values.tolist()]


def is_lazy(value: Any) -> bool:
    """A dask-backed (chunked) DataArray: processes build its graph, nothing is computed."""
    return isinstance(value, xr.DataArray) and value.chunks is not None


_SMALL_COMPUTE = threading.local()


def compute_small(*arrays: Any) -> tuple:
    """Computes small results a process needs as values (masks, labels of a data-dependent shape)
    in one pass of the graph; eager arrays pass through."""
    import dask

    _SMALL_COMPUTE.active = True
    try:
        return dask.compute(*arrays)
    finally:
        _SMALL_COMPUTE.active = False


def computing_small() -> bool:
    """Inside `compute_small` (tests refuse every other compute inside a process)."""
    return bool(getattr(_SMALL_COMPUTE, "active", False))


def float_type(dtype) -> np.dtype:
    """The float type a computation keeps: float32 stays float32 (no full-size float64
    temporaries of Sentinel Hub's FLOAT32 bands), anything else becomes float64."""
    return np.dtype(np.float32) if np.dtype(dtype) == np.float32 else np.dtype(np.float64)


def _along(da: xr.DataArray, dim: str, fn, keep_dim: bool, dtype) -> xr.DataArray:
    """`fn(values, axis=-1)` with `dim` last, per chunk (the dimension in one chunk) on a
    dask-backed array, at once on numpy; float32 stays float32."""
    dtype = np.dtype(dtype) if dtype is not None else float_type(da.dtype)
    if is_lazy(da) and len(da.chunks[da.get_axis_num(dim)]) > 1:
        da = da.chunk({dim: -1})

    def call(values: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(fn(values.astype(dtype, copy=False), -1)).astype(dtype, copy=False)

    out = xr.apply_ufunc(call, da, input_core_dims=[[dim]], output_core_dims=[[dim]] if keep_dim else [[]],
                         dask="parallelized", output_dtypes=[dtype], keep_attrs=True)
    if keep_dim:
        out = out.transpose(*da.dims)
        if dim in da.coords:
            out = out.assign_coords({dim: da.coords[dim]})
    return out


def reduce_along(da: xr.DataArray, dim: str, fn, dtype=None) -> xr.DataArray:
    """`da` without `dim`: `fn(values, axis)` reduces that axis (numpy semantics)."""
    return _along(da, dim, fn, False, dtype)


def map_along(da: xr.DataArray, dim: str, fn, dtype=None) -> xr.DataArray:
    """`da` with `dim` kept: `fn(values, axis)` returns values of the same shape."""
    return _along(da, dim, fn, True, dtype)
