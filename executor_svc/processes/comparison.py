"""Comparison processes: eq, neq, lt, lte, gt, gte, between, is_nan, is_nodata, is_valid
(plus the proposal is_infinite).

Scalars follow the spec's strict typing (numbers vs. strings vs. booleans, temporal strings
compared as instants, ``null`` -> ``null``). Arrays are compared element-wise; float arrays
yield float results (1.0/0.0 and NaN where an operand is no-data), other arrays boolean ones.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from typing import Any, Callable

import numpy as np
import xarray as xr

from ._values import is_arraylike, is_nodata_scalar, is_number, nan_mask, with_nodata
from .registry import process, required

_TIME_RE = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?$")


def parse_temporal(value: str) -> tuple[str, Any] | None:
    """('time'|'date'|'datetime', comparable value) for RFC 3339 strings, else None."""
    if not isinstance(value, str):
        return None
    v = value.strip()
    if _DATETIME_RE.match(v):
        d = dt.datetime.fromisoformat(v.replace("z", "Z").replace("Z", "+00:00"))
        return "datetime", d
    if _DATE_RE.match(v):
        return "date", dt.datetime.fromisoformat(v)
    if _TIME_RE.match(v):
        t = v.replace("Z", "+00:00")
        parsed = dt.time.fromisoformat(t)
        # Comparable representation: seconds since midnight in UTC (naive times stay naive).
        off = parsed.utcoffset()
        secs = parsed.hour * 3600 + parsed.minute * 60 + parsed.second + parsed.microsecond / 1e6
        return "time", (secs - off.total_seconds()) if off is not None else ("naive", secs)
    return None


def _temporal_pair(x: str, y: str) -> tuple[Any, Any] | None:
    px, py_ = parse_temporal(x), parse_temporal(y)
    if px is None or py_ is None:
        return None
    (kx, vx), (ky, vy) = px, py_
    if (kx == "time") != (ky == "time"):
        return None
    if kx == "time":
        if isinstance(vx, tuple) != isinstance(vy, tuple):
            return None
        return vx, vy
    # date vs datetime: dates are naive midnight; make aware/naive consistent where possible.
    if (vx.tzinfo is None) != (vy.tzinfo is None):
        if kx == "date":
            vx = vx.replace(tzinfo=dt.timezone.utc)
        elif ky == "date":
            vy = vy.replace(tzinfo=dt.timezone.utc)
        else:
            return None
    return vx, vy


def _scalar_compare(op: Callable, x: Any, y: Any, ordering: bool, delta: Any = None, case_sensitive: bool = True) -> Any:
    if is_nodata_scalar(x) or is_nodata_scalar(y):
        return None
    if isinstance(x, (list, dict, tuple)) or isinstance(y, (list, dict, tuple)):
        return False
    if is_number(x) and is_number(y):
        if delta is not None and op is operator.eq:
            return abs(x - y) <= delta
        return bool(op(x, y))
    if isinstance(x, str) and isinstance(y, str):
        pair = _temporal_pair(x, y)
        if pair is not None:
            return bool(op(*pair))
        if ordering:
            return op in (operator.ge, operator.le) and x == y  # equal operands: gte/lte are true
        if not case_sensitive:
            x, y = x.casefold(), y.casefold()
        return bool(op(x, y))
    if isinstance(x, bool) and isinstance(y, bool):
        if ordering:  # booleans have no order, but equal ones satisfy gte/lte (1.2.0 remarks)
            return op in (operator.ge, operator.le) and x == y
        return bool(op(x, y))
    return False


def _compare(op: Callable, x: Any, y: Any, ordering: bool, delta: Any = None, case_sensitive: bool = True) -> Any:
    if not (is_arraylike(x) or is_arraylike(y)):
        return _scalar_compare(op, x, y, ordering, delta, case_sensitive)
    if x is None or y is None:
        return with_nodata(xr.zeros_like(x if is_arraylike(x) else y, dtype=bool) if isinstance(x if is_arraylike(x) else y, xr.DataArray)
                           else np.zeros(np.shape(x if is_arraylike(x) else y), dtype=bool), True)
    if isinstance(x, str) or isinstance(y, str):
        return _compare_labels(op, x, y)
    with np.errstate(invalid="ignore"):
        if delta is not None and op is operator.eq:
            res = abs(x - y) <= delta
        else:
            res = op(x, y)
    return with_nodata(res, nan_mask(x, y))


def _compare_labels(op: Callable, x: Any, y: Any) -> Any:
    """Arrays of datetimes (labels) compared with temporal strings."""
    from .datacube import to_datetime64

    conv = lambda v: to_datetime64(v) if isinstance(v, str) else v  # noqa: E731
    arr = x if is_arraylike(x) else y
    if np.issubdtype(arr.dtype, np.datetime64):
        return op(conv(x), conv(y))
    return op(x, y)


def _cmp_process(pid: str, op: Callable, ordering: bool) -> None:
    @process(pid)
    def impl(args: dict, ctx: Any) -> Any:
        x, y = required(args, "x", pid), required(args, "y", pid)
        return _compare(op, x, y, ordering)

    impl.__name__ = pid


_cmp_process("lt", operator.lt, True)
_cmp_process("lte", operator.le, True)
_cmp_process("gt", operator.gt, True)
_cmp_process("gte", operator.ge, True)


@process("eq")
def eq(args: dict, ctx: Any) -> Any:
    x, y = required(args, "x", "eq"), required(args, "y", "eq")
    return _compare(operator.eq, x, y, False, args.get("delta"), args.get("case_sensitive", True))


@process("neq")
def neq(args: dict, ctx: Any) -> Any:
    x, y = required(args, "x", "neq"), required(args, "y", "neq")
    if not (is_arraylike(x) or is_arraylike(y)) and (isinstance(x, (list, dict)) or isinstance(y, (list, dict))):
        return False
    res = _compare(operator.eq, x, y, False, args.get("delta"), args.get("case_sensitive", True))
    return _not(res)


def _not(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, bool):
        return not v
    if np.issubdtype(v.dtype, np.floating):
        return 1.0 - v
    return ~v


@process("between")
def between(args: dict, ctx: Any) -> Any:
    x, lo, hi = (required(args, k, "between") for k in ("x", "min", "max"))
    exclude_max = args.get("exclude_max", False)
    if not is_arraylike(x):
        if isinstance(x, str) and isinstance(hi, str):
            ph = parse_temporal(hi)
            if ph is not None and ph[0] == "date" and not exclude_max:
                # A date-only upper bound covers the whole day.
                nxt = ph[1] + dt.timedelta(days=1)
                res_lo = _scalar_compare(operator.ge, x, lo, True)
                res_hi = _scalar_compare(operator.lt, x, nxt.strftime("%Y-%m-%d"), True)
                return None if res_lo is None or res_hi is None else bool(res_lo and res_hi)
        if is_nodata_scalar(x):
            return None
        if _scalar_compare(operator.gt, lo, hi, True):
            return False
        a = _scalar_compare(operator.ge, x, lo, True)
        b = _scalar_compare(operator.lt if exclude_max else operator.le, x, hi, True)
        if a is None or b is None:
            return None
        return bool(a and b)
    a = _compare(operator.ge, x, lo, True)
    b = _compare(operator.lt if exclude_max else operator.le, x, hi, True)
    if np.issubdtype(np.asarray(a).dtype, np.floating) or np.issubdtype(np.asarray(b).dtype, np.floating):
        res = a * b
    else:
        res = a & b
    if is_number(lo) and is_number(hi) and lo > hi:
        res = res * 0 if np.issubdtype(res.dtype, np.floating) else res & False
    return res


@process("is_nan")
def is_nan(args: dict, ctx: Any) -> Any:
    x = required(args, "x", "is_nan")
    if is_arraylike(x):
        return np.isnan(x) if np.issubdtype(x.dtype, np.floating) else (xr.zeros_like(x, dtype=bool) if isinstance(x, xr.DataArray) else np.zeros(x.shape, bool))
    if is_number(x):
        return bool(np.isnan(x))
    return True


@process("is_nodata")
def is_nodata(args: dict, ctx: Any) -> Any:
    x = required(args, "x", "is_nodata")
    if is_arraylike(x):
        return np.isnan(x) if np.issubdtype(x.dtype, np.floating) else (xr.zeros_like(x, dtype=bool) if isinstance(x, xr.DataArray) else np.zeros(x.shape, bool))
    return x is None


@process("is_valid")
def is_valid(args: dict, ctx: Any) -> Any:
    x = required(args, "x", "is_valid")
    if is_arraylike(x):
        return np.isfinite(x) if np.issubdtype(x.dtype, np.number) else (xr.ones_like(x, dtype=bool) if isinstance(x, xr.DataArray) else np.ones(x.shape, bool))
    if x is None:
        return False
    if is_number(x):
        return bool(np.isfinite(x))
    return True


@process("is_infinite", experimental=True)
def is_infinite(args: dict, ctx: Any) -> Any:
    x = required(args, "x", "is_infinite")
    if is_arraylike(x):
        return np.isinf(x)
    if x is None:
        return False  # null is not an infinite number (the process returns a boolean)
    return bool(is_number(x) and np.isinf(x))
