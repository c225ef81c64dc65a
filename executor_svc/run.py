"""Running an `ExecutionPlan`: fetch every load (concurrently), seed the graph evaluator with the
cubes, evaluate the remaining graph in the CPU pool."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger

from .loading.fetch import LoadedCube, fetch_load

log = get_logger(__name__)


@dataclass
class RunOutcome:
    value: Any
    processing_units: float
    fmt: str
    options: dict
    loads: list[LoadedCube] = field(default_factory=list)
    inspections: list = field(default_factory=list)


def output_of(plan, saved_results: list | None = None) -> tuple[str, dict]:
    """(format, options) from plan.output, else the last save_result, else GTiff."""
    fmt = plan.output.format if plan.HasField("output") else ""
    options: dict = {}
    if plan.HasField("output") and plan.output.options_json:
        try:
            options = json.loads(plan.output.options_json) or {}
        except ValueError:
            raise OpenEOError("Internal", "The execution plan carries invalid format options.", 500) from None
    if not fmt and saved_results:
        fmt = str(saved_results[-1].get("format") or "")
        options = dict(saved_results[-1].get("options") or {})
    return fmt or "GTiff", options


def _graph_of(plan) -> dict:
    if not plan.graph_json:
        return {}
    try:
        graph = json.loads(plan.graph_json)
    except ValueError:
        raise OpenEOError("Internal", "The execution plan carries an invalid process graph.", 500) from None
    if not isinstance(graph, dict):
        raise OpenEOError("Internal", "The execution plan carries an invalid process graph.", 500)
    return graph


def evaluate_graph(graph: dict, seeded: dict, result_node_id: str, ctx) -> Any:
    """Evaluates `graph` with `seeded` node results (runs in the CPU pool)."""
    from executor_svc.graph import evaluate
    from executor_svc.processes.errors import ProcessError

    nodes = graph.get("process_graph", graph) if isinstance(graph.get("process_graph"), dict) else graph
    if not nodes or (result_node_id and result_node_id in seeded and result_node_id not in nodes):
        if result_node_id in seeded:
            return seeded[result_node_id]
        if len(seeded) == 1:
            return next(iter(seeded.values()))
        raise OpenEOError("Internal", "The execution plan has no result node.", 500)
    if result_node_id and result_node_id in nodes and not any(n.get("result") for n in nodes.values()):
        nodes = {k: dict(v, result=(k == result_node_id)) for k, v in nodes.items()}
    try:
        return evaluate(nodes, seeded=seeded, ctx=ctx)
    except ProcessError as exc:
        where = f" (node {exc.node_id!r})" if exc.node_id else ""
        raise OpenEOError(exc.code, f"{exc.message}{where}", 400) from None
    except (MemoryError, OpenEOError):
        raise


class PlanRunner:
    """Runs plans with one shared Sentinel Hub client and CPU pool."""

    def __init__(self, sh_client, pool: Executor, *, max_concurrent_loads: int = 4):
        self.sh = sh_client
        self.pool = pool
        self.max_concurrent_loads = max_concurrent_loads

    async def fetch_loads(self, plan, token: str | None, on_load: Callable[[LoadedCube], None] | None = None) -> list[LoadedCube]:
        semaphore = asyncio.Semaphore(self.max_concurrent_loads)

        async def one(load) -> LoadedCube:
            async with semaphore:
                loaded = await fetch_load(load, self.sh, token=token, executor=self.pool)
            if on_load is not None:
                on_load(loaded)
            return loaded

        return list(await asyncio.gather(*(one(load) for load in plan.loads)))

    async def run(self, plan, user, *, on_progress: Callable[[float], None] | None = None, extra: dict | None = None) -> RunOutcome:
        from executor_svc.processes import ExecutionContext

        token = user.sh_access_token or None if user is not None else None
        done = 0

        def loaded(_cube: LoadedCube) -> None:
            nonlocal done
            done += 1
            if on_progress is not None and plan.loads:
                on_progress(60.0 * done / len(plan.loads))

        loads = await self.fetch_loads(plan, token, loaded)
        seeded = {item.result_node_id: item.cube for item in loads}
        ctx = ExecutionContext(extra=dict(extra or {}))
        graph = _graph_of(plan)
        loop = asyncio.get_running_loop()
        value = await loop.run_in_executor(self.pool, evaluate_graph, graph, seeded, plan.result_node_id, ctx)
        if on_progress is not None:
            on_progress(75.0)
        fmt, options = output_of(plan, ctx.saved_results)
        pu = sum(item.processing_units for item in loads)
        return RunOutcome(value, pu, fmt, options, loads, list(ctx.inspections))
