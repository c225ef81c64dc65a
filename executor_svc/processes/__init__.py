"""openEO process library on numpy/xarray (see README.md for the data-cube convention)."""

from .errors import ProcessError
from .registry import REGISTRY, ExecutionContext, ProcessEntry, ProcessRegistry, implemented_process_ids, process

from . import math, reducers, arrays, comparison, logic, text, dates  # noqa: E402,F401  (registration)
from . import cubes, vector, filters, kernel, aggregate, resample, misc  # noqa: E402,F401

__all__ = [
    "REGISTRY",
    "ExecutionContext",
    "ProcessEntry",
    "ProcessError",
    "ProcessRegistry",
    "implemented_process_ids",
    "process",
]
