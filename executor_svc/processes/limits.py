"""Bounds on what one run may build and how long it may take, and its cancellation.

A graph can ask for far more than any machine has (`array_create` with `repeat: 1e9`, a kernel of
300 x 300 px, a resampling to centimetres). Processes that allocate more than their inputs check
the size first (`check_elements`, `check_bytes`, `check_operations`); the evaluator checks every
node's result and, between nodes, the deadline and the cancellation flag (`check`). A run that
goes over a limit ends with `ProcessGraphComplexity` (an openEO error, 400) instead of running
the executor out of memory; a cancelled run (the client went away, the job was canceled) stops
at the next node. One numpy operation is never interrupted: the size checks keep each one small.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from .errors import ProcessError

GIB = 1024 ** 3


@dataclass(frozen=True)
class RunLimits:
    #: Elements of one array a process may create (array_create).
    max_array_elements: int = 50_000_000
    #: Bytes of one process result (a cube or an array).
    max_result_bytes: int = 4 * GIB
    #: Elements of one kernel (apply_kernel): each costs a pass over the cube.
    max_kernel_elements: int = 101 * 101
    #: Multiply-adds of one kernel process (kernel elements x cube elements).
    max_kernel_operations: float = 2e10
    #: Seconds the evaluation may take (None: no deadline).
    max_seconds: float | None = None


class Cancelled(ProcessError):
    """The run was cancelled; nobody waits for its result."""

    def __init__(self, node_id: str | None = None):
        super().__init__("Cancelled", "The processing was cancelled.", node_id)


def _too_complex(message: str, node_id: str | None = None) -> ProcessError:
    return ProcessError("ProcessGraphComplexity", message, node_id)


def _gib(n: float) -> str:
    return f"{n / GIB:.3g} GiB"


class RunBudget:
    """The limits of one run, its start time and its cancellation flag."""

    def __init__(self, limits: RunLimits | None = None, cancel: threading.Event | None = None):
        self.limits = limits or RunLimits()
        self.cancel = cancel or threading.Event()
        self.started = time.monotonic()

    def check(self, node_id: str | None = None) -> None:
        """Between nodes: stop a cancelled or overdue run."""
        if self.cancel.is_set():
            raise Cancelled(node_id)
        limit = self.limits.max_seconds
        if limit is not None and time.monotonic() - self.started > limit:
            raise _too_complex(f"The processing took longer than the limit of {limit:g} s for this request; "
                               "use a batch job or a smaller extent.", node_id)

    def check_elements(self, count: float, process_id: str) -> None:
        if count > self.limits.max_array_elements:
            raise _too_complex(f"{process_id}: an array of {count:.0f} elements exceeds the limit of "
                               f"{self.limits.max_array_elements} elements.")

    def check_bytes(self, nbytes: float, process_id: str) -> None:
        if nbytes > self.limits.max_result_bytes:
            raise _too_complex(f"{process_id}: the result would take {_gib(nbytes)}, more than the limit of "
                               f"{_gib(self.limits.max_result_bytes)}; reduce the extent or the resolution.")

    def check_kernel(self, elements: int, cube_elements: int, process_id: str) -> None:
        if elements > self.limits.max_kernel_elements:
            raise _too_complex(f"{process_id}: a kernel of {elements} elements exceeds the limit of "
                               f"{self.limits.max_kernel_elements} elements.")
        self.check_operations(float(elements) * cube_elements, process_id)

    def check_operations(self, operations: float, process_id: str) -> None:
        if operations > self.limits.max_kernel_operations:
            raise _too_complex(f"{process_id}: {operations:.3g} operations (kernel size x pixels) exceed the limit of "
                               f"{self.limits.max_kernel_operations:.3g}; use a smaller kernel or extent.")

    def check_result(self, value: Any, node_id: str) -> None:
        """After a node: its result (a cube, an array or a list) must fit the limits. A chunked
        (dask-backed) cube is never held whole: only its chunks count, against the same limit."""
        nbytes = getattr(value, "nbytes", None)
        chunks = getattr(value, "chunks", None)
        if chunks and not isinstance(value, list) and nbytes is not None:
            import math

            nbytes = math.prod(max(c) if c else 0 for c in chunks) * value.dtype.itemsize
        if isinstance(nbytes, (int, float)) and nbytes > self.limits.max_result_bytes:
            raise _too_complex(f"The result of node {node_id!r} takes {_gib(nbytes)}, more than the limit of "
                               f"{_gib(self.limits.max_result_bytes)}; reduce the extent or the resolution.", node_id)
        if isinstance(value, list) and len(value) > self.limits.max_array_elements:
            raise _too_complex(f"The result of node {node_id!r} has {len(value)} elements, more than the limit of "
                               f"{self.limits.max_array_elements}.", node_id)
