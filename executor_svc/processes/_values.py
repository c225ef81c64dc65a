"""Helpers for the dual scalar / array semantics of the openEO processes.

Scalars follow JSON semantics (``None`` = no-data); arrays (numpy / xarray) use NaN as no-data
and are processed element-wise in one vectorised call.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import xarray as xr


def is_arraylike(x: Any) -> bool:
    return isinstance(x, (xr.DataArray, np.ndarray))


def is_number(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, (bool, np.bool_))


def is_nodata_scalar(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or (isinstance(x, np.floating) and np.isnan(x))


def nd(x: Any) -> Any:
    """None -> NaN for numeric computations."""
    return np.nan if x is None else x


def py(v: Any, integral: bool = False) -> Any:
    """Numpy scalar / 0-d array -> Python value; NaN -> None. ``integral`` turns whole floats into ints."""
    if isinstance(v, xr.DataArray) and v.ndim == 0:
        v = v.values
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v.item()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if integral and v.is_integer() and abs(v) < 2**53:
            return int(v)
    return v


def all_ints(*xs: Any) -> bool:
    return all(isinstance(x, int) and not isinstance(x, bool) for x in xs)


def numeric_list(data: list) -> np.ndarray | None:
    """A Python list of numbers/None as float array, or None if it holds other types."""
    if all(v is None or is_number(v) for v in data):
        return np.array([np.nan if v is None else v for v in data], dtype=float)
    return None


def nan_mask(*xs: Any) -> Any:
    """Element-wise "any operand is no-data" for the array operands (None counts as no-data)."""
    mask = None
    for x in xs:
        if x is None:
            return True
        if is_arraylike(x) and np.issubdtype(x.dtype, np.floating):
            m = np.isnan(x)
            mask = m if mask is None else (mask | m)
    return mask


def with_nodata(result: Any, mask: Any) -> Any:
    """Turn a boolean array result into float (1/0/NaN) where a no-data mask applies."""
    if mask is None:
        return result
    if mask is True:
        return xr.full_like(result, np.nan, dtype=float) if isinstance(result, xr.DataArray) else np.full(np.shape(result), np.nan)
    res = result.astype(float)
    if isinstance(res, xr.DataArray):
        return res.where(~mask)
    return np.where(mask, np.nan, res)
