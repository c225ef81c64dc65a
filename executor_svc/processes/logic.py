"""Logical processes with the spec's three-valued logic: and, or, xor, not, if, all, any.

Scalars: ``True``/``False``/``None``. Arrays: boolean arrays, or float arrays holding
1.0/0.0/NaN (NaN = no-data). Results are float arrays whenever an operand may hold no-data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._arrays import as_xarray
from ._values import is_arraylike, is_nodata_scalar
from .registry import invalid, process, required


def _as_float(v: Any) -> Any:
    if v is None:
        return np.nan
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    if is_arraylike(v):
        return v.astype(float)
    return float(v)


def _logic(pid: str, x: Any, y: Any) -> Any:
    if not (is_arraylike(x) or is_arraylike(y)):
        for v in (x, y):
            if v is not None and not isinstance(v, bool):
                raise invalid(pid, "x", f"expected a boolean, got {v!r}.")
        if pid == "and":
            return False if (x is False or y is False) else (None if (x is None or y is None) else True)
        if pid == "or":
            return True if (x is True or y is True) else (None if (x is None or y is None) else False)
        return None if (x is None or y is None) else (x != y)
    floats = any(v is None or (is_arraylike(v) and np.issubdtype(v.dtype, np.floating)) for v in (x, y))
    if not floats:
        return {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}[pid](x, y)
    fx, fy = _as_float(x), _as_float(y)
    with np.errstate(invalid="ignore"):
        if pid == "and":
            res = fx * fy  # NaN if either NaN ...
            res = xr.where((fx == 0) | (fy == 0), 0.0, res) if isinstance(res, xr.DataArray) else np.where((fx == 0) | (fy == 0), 0.0, res)
        elif pid == "or":
            res = np.maximum(fx, fy)  # NaN propagates
            res = xr.where((fx == 1) | (fy == 1), 1.0, res) if isinstance(res, xr.DataArray) else np.where((fx == 1) | (fy == 1), 1.0, res)
        else:
            res = np.abs(fx - fy)
    return res


for _pid in ("and", "or", "xor"):
    def _make(pid: str) -> None:
        @process(pid)
        def impl(args: dict, ctx: Any) -> Any:
            return _logic(pid, required(args, "x", pid), required(args, "y", pid))

        impl.__name__ = pid

    _make(_pid)


@process("not")
def not_(args: dict, ctx: Any) -> Any:
    x = required(args, "x", "not")
    if x is None:
        return None
    if isinstance(x, bool):
        return not x
    if is_arraylike(x):
        return 1.0 - x if np.issubdtype(x.dtype, np.floating) else ~x.astype(bool)
    raise invalid("not", "x", f"expected a boolean, got {x!r}.")


@process("if")
def if_(args: dict, ctx: Any) -> Any:
    value = required(args, "value", "if")
    accept = required(args, "accept", "if")
    reject = args.get("reject")
    if not is_arraylike(value):
        return accept if value is True else reject
    cond = value == 1 if np.issubdtype(value.dtype, np.floating) else value.astype(bool)
    a = np.nan if accept is None else accept
    r = np.nan if reject is None else reject
    if isinstance(cond, xr.DataArray) or isinstance(a, xr.DataArray) or isinstance(r, xr.DataArray):
        return xr.where(cond, a, r, keep_attrs=True)
    return np.where(cond, a, r)


def _all_any(pid: str, is_all: bool) -> None:
    @process(pid)
    def impl(args: dict, ctx: Any) -> Any:
        data = required(args, "data", pid)
        ignore = args.get("ignore_nodata", True)
        if isinstance(data, xr.DataArray):
            da, dim = as_xarray(data)
            f = da.astype(float)
            valid = f.notnull()
            n_valid = valid.sum(dim=dim)
            if is_all:
                has_false = (f == 0).any(dim=dim)
                res = xr.where(has_false, 0.0, 1.0)
            else:
                has_true = (f == 1).any(dim=dim)
                res = xr.where(has_true, 1.0, 0.0)
            decided = (f == (0 if is_all else 1)).any(dim=dim)
            undecided_null = ~decided & ((n_valid < da.sizes[dim]) if not ignore else False)
            res = res.where(~undecided_null & (n_valid > 0))
            return res
        items = list(data)
        for v in items:
            if not is_nodata_scalar(v) and not isinstance(v, bool):
                raise invalid(pid, "data", f"expected booleans, got {v!r}.")
        values = [v for v in items if not is_nodata_scalar(v)]
        if not values:
            return None
        if is_all:
            if False in values:
                return False
            return None if (not ignore and len(values) < len(items)) else True
        if True in values:
            return True
        return None if (not ignore and len(values) < len(items)) else False

    impl.__name__ = pid


_all_any("all", True)
_all_any("any", False)
