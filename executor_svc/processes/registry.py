"""Process registry: openEO process id -> implementation.

Every implementation has the uniform signature ``fn(args: dict, ctx: ExecutionContext) -> value``.
``args`` holds the *already evaluated* arguments of the node (only those given in the graph;
implementations apply the spec defaults). Callback arguments (``{"process_graph": ...}``) are
passed as plain Python callables taking keyword arguments named like the callback parameters
of the spec (``x``, ``y``, ``data``, ``context``, ``element``, ``index``, ``label``, ...), e.g.
``args["process"](x=cube, context=None)``. Unit tests may pass lambdas directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .errors import ProcessError
from .limits import RunBudget


@dataclass
class ExecutionContext:
    """Per-run services and sinks available to process implementations."""

    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("executor_svc.processes"))
    #: ``load_result(id, spatial_extent=..., temporal_extent=..., bands=...) -> DataArray``; injected by the executor.
    load_result: Callable[..., Any] | None = None
    #: Records appended by ``inspect``: dicts with ``level``, ``message``, ``code``, ``data`` (summary), ``node_id``.
    inspections: list = field(default_factory=list)
    #: Id of the node currently being executed (set by the evaluator).
    node_id: str | None = None
    #: Free-form extras for the executor (job id, user, ...).
    extra: dict = field(default_factory=dict)
    #: Size and time limits of the run and its cancellation flag.
    budget: RunBudget = field(default_factory=RunBudget)


ProcessFn = Callable[[dict, ExecutionContext], Any]


@dataclass(frozen=True)
class ProcessEntry:
    id: str
    fn: ProcessFn
    #: ``True`` for processes that are only proposals in openeo-processes 1.2.0.
    experimental: bool = False
    #: Name of an ExecutionContext hook (e.g. ``"load_result"``) that must be injected for the process to work.
    hook: str | None = None


class ProcessRegistry:
    def __init__(self, entries: Iterable[ProcessEntry] = ()):
        self._entries: dict[str, ProcessEntry] = {e.id: e for e in entries}

    def register(self, process_id: str, fn: ProcessFn, *, experimental: bool = False, hook: str | None = None) -> ProcessFn:
        self._entries[process_id] = ProcessEntry(process_id, fn, experimental, hook)
        return fn

    def __contains__(self, process_id: str) -> bool:
        return process_id in self._entries

    def entry(self, process_id: str) -> ProcessEntry:
        try:
            return self._entries[process_id]
        except KeyError:
            raise ProcessError("ProcessUnsupported", f"Process with identifier {process_id!r} is not available.") from None

    def get(self, process_id: str) -> ProcessFn:
        return self.entry(process_id).fn

    def call(self, process_id: str, args: dict, ctx: ExecutionContext | None = None) -> Any:
        return self.get(process_id)(args, ctx or ExecutionContext())

    def ids(self, *, include_experimental: bool = True, hooks: Iterable[str] = ()) -> list[str]:
        hooks = set(hooks)
        return sorted(
            e.id
            for e in self._entries.values()
            if (include_experimental or not e.experimental) and (e.hook is None or e.hook in hooks)
        )

    def copy(self) -> "ProcessRegistry":
        return ProcessRegistry(self._entries.values())


#: The default registry, populated when ``executor_svc.processes`` is imported.
REGISTRY = ProcessRegistry()


def process(process_id: str, *, experimental: bool = False, hook: str | None = None) -> Callable[[ProcessFn], ProcessFn]:
    """Decorator registering ``fn(args, ctx)`` under ``process_id`` in :data:`REGISTRY`."""

    def deco(fn: ProcessFn) -> ProcessFn:
        return REGISTRY.register(process_id, fn, experimental=experimental, hook=hook)

    return deco


def implemented_process_ids(*, include_experimental: bool = True, hooks: Iterable[str] = ()) -> list[str]:
    """Ids of the processes that work in the evaluator.

    ``include_experimental=False`` restricts to the stable openeo-processes 1.2.0 processes.
    Processes needing a context hook (``load_result``) are only listed if the hook name is in ``hooks``.
    """
    import executor_svc.processes  # noqa: F401  (ensure all modules registered)

    return REGISTRY.ids(include_experimental=include_experimental, hooks=hooks)


_MISSING = object()


def required(args: dict, name: str, process_id: str) -> Any:
    value = args.get(name, _MISSING)
    if value is _MISSING:
        raise ProcessError("ProcessParameterMissing", f"Process {process_id!r} parameter {name!r} is required.")
    return value


def invalid(process_id: str, name: str, reason: str) -> ProcessError:
    return ProcessError(
        "ProcessParameterInvalid", f"The value passed for parameter {name!r} in process {process_id!r} is invalid: {reason}"
    )
