"""Sizes a graph asks for that are known before it runs (pure).

`array_create` with a fixed `repeat` and a kernel written into the graph are refused here, before
any Sentinel Hub request; the executor checks the same limits again at run time for sizes that
only the data decides (`executor_svc/processes/limits.py`)."""

from __future__ import annotations

from compiler_svc.config import PlanningSettings
from compiler_svc.graph import contains_ref, iter_nodes
from compiler_svc.problems import Problem, ProblemError


def _too_large(message: str, node_id: str, parameter: str) -> ProblemError:
    return ProblemError(Problem("ProcessGraphComplexity", message, node_id, parameter))


def check_sizes(graph: dict, settings: PlanningSettings) -> None:
    """ProblemError for the first node whose fixed arguments ask for more than the limits allow."""
    for path, node in iter_nodes(graph):
        pid, args = node.get("process_id"), node.get("arguments") or {}
        if pid == "array_create":
            repeat, data = args.get("repeat", 1), args.get("data", [])
            # a list written into the graph has a known length even if its items are computed
            if isinstance(repeat, int) and isinstance(data, list):
                count = len(data) * repeat
                if count > settings.max_array_elements:
                    raise _too_large(f"array_create (node '{path}'): an array of {count} elements exceeds the "
                                     f"limit of {settings.max_array_elements} elements.", path, "repeat")
        elif pid == "apply_kernel":
            kernel = args.get("kernel")
            if isinstance(kernel, list) and not contains_ref(kernel):
                elements = sum(1 for row in kernel if isinstance(row, list) for v in row if v != 0)
                if elements > settings.max_kernel_elements:
                    raise _too_large(f"apply_kernel (node '{path}'): a kernel of {elements} elements exceeds the "
                                     f"limit of {settings.max_kernel_elements} elements.", path, "kernel")
