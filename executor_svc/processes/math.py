"""Mathematical processes (element-wise on scalars, numpy arrays and DataArrays)."""

from __future__ import annotations

import math as _m
import warnings
from typing import Any, Callable

import numpy as np

from ._values import all_ints, is_arraylike, nd, py
from .errors import ProcessError
from .registry import invalid, process, required


def _calc(fn: Callable, *xs: Any, integral: bool = False) -> Any:
    if any(x is None for x in xs) and not any(is_arraylike(x) for x in xs):
        return None
    for x in xs:
        if isinstance(x, str):
            raise ProcessError("ProcessParameterInvalid", f"Expected a number, got string {x!r}.")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fn(*[nd(x) for x in xs])
    if is_arraylike(res):
        return res
    return py(res, integral=integral)


def _clip(v: Any, lo: Any, hi: Any) -> Any:
    """np.clip, lazily on a dask-backed DataArray (xarray does not dispatch np.clip)."""
    return v.clip(lo, hi) if hasattr(v, "clip") and not isinstance(v, np.ndarray) else np.clip(v, lo, hi)


def _unary(pid: str, fn: Callable, param: str = "x", integral: bool = False) -> None:
    @process(pid)
    def impl(args: dict, ctx: Any) -> Any:
        return _calc(fn, required(args, param, pid), integral=integral)

    impl.__name__ = pid


for _pid, _fn in {
    "absolute": np.abs,
    "arccos": np.arccos,
    "arcosh": np.arccosh,
    "arcsin": np.arcsin,
    "arctan": np.arctan,
    "arsinh": np.arcsinh,
    "artanh": np.arctanh,
    "cos": np.cos,
    "cosh": np.cosh,
    "sin": np.sin,
    "sinh": np.sinh,
    "tan": np.tan,
    "tanh": np.tanh,
    "ln": np.log,
    "sqrt": np.sqrt,
}.items():
    _unary(_pid, _fn)

_unary("exp", np.exp, param="p")
_unary("ceil", np.ceil, integral=True)
_unary("floor", np.floor, integral=True)
_unary("int", np.trunc, integral=True)
_unary("sgn", np.sign, integral=True)


def _binary(pid: str, fn: Callable, a: str = "x", b: str = "y") -> None:
    @process(pid)
    def impl(args: dict, ctx: Any) -> Any:
        x, y = required(args, a, pid), required(args, b, pid)
        return _calc(fn, x, y, integral=all_ints(x, y))

    impl.__name__ = pid


_binary("add", np.add)
_binary("subtract", np.subtract)
_binary("multiply", np.multiply)
_binary("arctan2", lambda y, x: np.arctan2(y, x), a="y", b="x")


@process("divide")
def divide(args: dict, ctx: Any) -> Any:
    x, y = required(args, "x", "divide"), required(args, "y", "divide")
    return _calc(np.divide, x, y)


def _floats(v: Any) -> Any:
    """`v` as floating point (scalars, numpy arrays and DataArrays alike)."""
    if is_arraylike(v):
        return v if np.issubdtype(v.dtype, np.floating) else v.astype(np.float64)
    return float(v)


@process("mod")
def mod(args: dict, ctx: Any) -> Any:
    # numpy's mod follows the sign of the divisor, as the spec requires. A modulo by zero is NaN
    # (null), IEEE 754's remainder: numpy's integer mod would answer 0 (README, deviations).
    x, y = required(args, "x", "mod"), required(args, "y", "mod")
    res = _calc(lambda a, b: np.mod(_floats(a), b), x, y, integral=all_ints(x, y))
    if isinstance(res, float):
        res = round(res, 12)  # 3.14 mod -2 -> -0.86 instead of -0.8599999999999999
    return res


@process("power")
def power(args: dict, ctx: Any) -> Any:
    base, p = required(args, "base", "power"), required(args, "p", "power")
    return _calc(lambda b, e: np.power(np.asarray(b, dtype=float) if not is_arraylike(b) else b.astype(float), e), base, p,
                 integral=all_ints(base, p))


@process("log")
def log(args: dict, ctx: Any) -> Any:
    x, base = required(args, "x", "log"), required(args, "base", "log")
    return _calc(lambda v, b: np.log(v) / np.log(b), x, base)


@process("round")
def round_(args: dict, ctx: Any) -> Any:
    x, p = required(args, "x", "round"), args.get("p", 0) or 0
    # numpy rounds half to even ("banker's rounding"), like the spec requires.
    return _calc(lambda v: np.round(v, int(p)), x, integral=p <= 0)


@process("clip")
def clip(args: dict, ctx: Any) -> Any:
    x, lo, hi = (required(args, k, "clip") for k in ("x", "min", "max"))
    return _calc(lambda v: _clip(v, lo, hi), x, integral=all_ints(x, lo, hi))


@process("linear_scale_range")
def linear_scale_range(args: dict, ctx: Any) -> Any:
    pid = "linear_scale_range"
    x = required(args, "x", pid)
    imin, imax = required(args, "inputMin", pid), required(args, "inputMax", pid)
    omin, omax = args.get("outputMin", 0), args.get("outputMax", 1)
    if imin == imax:
        raise invalid(pid, "inputMax", "inputMin and inputMax must differ.")

    lo, hi = min(imin, imax), max(imin, imax)  # an inverted input range maps in reverse

    def fn(v: Any) -> Any:
        v = _clip(v, lo, hi)
        return (v - imin) / (imax - imin) * (omax - omin) + omin

    return _calc(fn, x)


@process("e")
def e(args: dict, ctx: Any) -> float:
    return _m.e


@process("pi")
def pi(args: dict, ctx: Any) -> float:
    return _m.pi


@process("nan", experimental=True)
def nan(args: dict, ctx: Any) -> float:
    """NaN: no-data in a cube, null in JSON."""
    return _m.nan


@process("constant")
def constant(args: dict, ctx: Any) -> Any:
    return required(args, "x", "constant")
