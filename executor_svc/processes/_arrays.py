"""Common handling of openEO *arrays*: Python lists or labelled DataArrays along ARRAY_DIM."""

from __future__ import annotations

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
