"""Running an `ExecutionPlan` the way its `strategy` says.

The cube strategy fetches every Sentinel Hub load and every `load_result` source concurrently,
seeds their nodes with the cubes and evaluates the plan's `node_order` in the CPU pool. The
image and GTiff pass-through strategies (`fast_paths/`) make the file from one Sentinel Hub
response; when that response is not what the plan expected they fall back to the cube strategy
(the pass-through hands over the response it already has)."""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Any

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger
from backend_proto.v1 import compiler_pb2

from .encoding.raster import is_raster_cube, most_recent_mosaic
from .fast_paths.gtiff_passthrough import run_passthrough
from .fast_paths.image import ResultFile, render_image
from .loading.fetch import LoadedCube, fetch_load
from .loading.result_sources import ResultLoads, fetch_sources
from .loading.statistics import fetch_statistics
from .loading.statistics_batch import BatchStatisticalRun
from .processes.limits import RunBudget, RunLimits
from .sentinelhub.spending import SpendingLimit

log = get_logger(__name__)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


@dataclass
class RunOutcome:
    value: Any
    processing_units: float
    #: The format the result is written in (`plan.output`, or `plan.output_if_not_raster`).
    output: compiler_pb2.OutputFormat
    options: dict
    loads: list[LoadedCube] = field(default_factory=list)
    inspections: list = field(default_factory=list)
    #: Wall time of the stages in ms ("fetch", "evaluate", "finish"), for the logs.
    timings: dict = field(default_factory=dict)
    #: What `run(..., finish=...)` returned.
    finished: Any = None


def output_for(plan, value) -> tuple[compiler_pb2.OutputFormat, dict]:
    """(format, options) of the result: the plan's output, or its fallback for a result that is
    not a raster cube when the graph chose no format."""
    output = plan.output
    if plan.HasField("output_if_not_raster") and not is_raster_cube(value):
        output = plan.output_if_not_raster
    try:
        options = json.loads(output.options_json) if output.options_json else {}
    except ValueError:
        raise OpenEOError("Internal", "The execution plan carries invalid format options.", 500) from None
    return output, dict(options or {})


def _graph_of(plan) -> dict:
    try:
        graph = json.loads(plan.graph_json) if plan.graph_json else {}
    except ValueError:
        graph = None
    if not isinstance(graph, dict):
        raise OpenEOError("Internal", "The execution plan carries an invalid process graph.", 500)
    return graph


def evaluate_plan_graph(plan, graph: dict, seeded: dict, ctx) -> Any:
    """Evaluates the plan's `node_order` with `seeded` node results (runs in the CPU pool)."""
    from executor_svc.graph import GraphEvaluator
    from executor_svc.processes.errors import ProcessError
    from executor_svc.processes.limits import Cancelled

    try:
        return GraphEvaluator(ctx=ctx).run(graph, list(plan.node_order), plan.result_node_id, seeded=seeded)
    except Cancelled as exc:
        log.info("evaluation_cancelled", node_id=exc.node_id)
        raise OpenEOError("Cancelled", "The processing was cancelled.", 400) from None
    except ProcessError as exc:
        original = getattr(ctx.load_result, "failure", None)
        if original is not None and exc.code == original.code:
            raise original from None  # keeps its HTTP status (e.g. JobNotFound 404)
        where = f" (node {exc.node_id!r})" if exc.node_id else ""
        raise OpenEOError(exc.code, f"{exc.message}{where}", 400) from None
    except RecursionError:
        raise OpenEOError("ProcessGraphComplexity", "The process graph nests callbacks or user-defined processes "
                          "too deeply to be evaluated.", 400) from None


def computing(fn: Callable, *args) -> Any:
    """`fn(*args)` where it computes a chunked result (the encoders): the processes' errors that
    surface only when the chunks are computed, and a cancellation or deadline seen by the chunk
    reads, become the same openEO errors as during the evaluation."""
    from executor_svc.processes.errors import ProcessError
    from executor_svc.processes.limits import Cancelled

    try:
        return fn(*args)
    except Cancelled:
        raise OpenEOError("Cancelled", "The processing was cancelled.", 400) from None
    except ProcessError as exc:
        raise OpenEOError(exc.code, exc.message, 400) from None


async def _all_or_nothing(*coros) -> list:
    """Runs the coroutines concurrently; the first failure cancels the others and is raised."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                raise task.exception()
        return [task.result() for task in tasks]
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _token(user) -> str | None:
    return (user.sh_access_token or None) if user is not None else None


class PlanRunner:
    """Runs plans with one shared Sentinel Hub client and CPU pool; `results` (a
    `loading.job_results.JobResultLoader`) makes `load_result` available."""

    def __init__(self, sh_client, pool: Executor, *, max_concurrent_loads: int = 4, results=None,
                 limits: RunLimits | None = None, storage=None, engine=None):
        #: the dask engine (`dask_engine.DaskEngine`) of large cube runs; None: every run is eager
        self.engine = engine
        self.sh = sh_client
        #: S3 (`storage.s3.S3Storage`) for Batch Statistical's input and output; None: no Batch Statistical
        self.storage = storage
        self.pool = pool
        self.max_concurrent_loads = max_concurrent_loads
        self.results = results
        #: The size limits of every run (the caller's budget may add a deadline).
        self.limits = limits or RunLimits()

    def budget(self, *, max_seconds: float | None = None, cancel=None) -> RunBudget:
        """A budget with this runner's limits, for one run."""
        return RunBudget(replace(self.limits, max_seconds=max_seconds), cancel)

    def _unsplit(self, plan) -> bool:
        """The fast paths need the single load in one request (the compiler plans them only up to
        Sentinel Hub's size limit; this client may be configured to split smaller requests)."""
        threshold = getattr(getattr(self.sh, "config", None), "split_threshold", 0)
        load = plan.loads[0]
        return not threshold or max(load.width, load.height) <= threshold

    async def run_fast_path(self, plan, user) -> tuple[ResultFile | None, LoadedCube | None]:
        """(the file, None) when the plan's strategy made it; (None, a load already fetched) or
        (None, None) when the cube strategy must run (`run(..., prefetched=...)`)."""
        strategy = plan.strategy
        if strategy == compiler_pb2.RESULT_STRATEGY_IMAGE and self._unsplit(plan):
            return await render_image(plan, self.sh, self.pool, _token(user)), None
        if strategy == compiler_pb2.RESULT_STRATEGY_GTIFF_PASSTHROUGH and self._unsplit(plan):
            return await run_passthrough(plan, self.sh, self.pool, _token(user))
        return None, None

    async def fetch_loads(self, plan, token: str | None, on_load: Callable[[LoadedCube], None] | None = None,
                          prefetched: list[LoadedCube] | None = None, to_dask=None,
                          spending=None) -> list[LoadedCube]:
        semaphore = asyncio.Semaphore(self.max_concurrent_loads)
        ready = {item.node_id: item for item in prefetched or []}

        async def one(load) -> LoadedCube:
            if load.node_id in ready:
                loaded = ready[load.node_id]
            else:
                async with semaphore:
                    sink = self.engine.sink() if to_dask is not None else None
                    loaded = await fetch_load(load, self.sh, token=token, executor=self.pool, sink=sink,
                                              to_dask=to_dask, spending=spending)
            if on_load is not None:
                on_load(loaded)
            return loaded

        return list(await asyncio.gather(*(one(load) for load in plan.loads)))

    async def fetch_statistical(self, plan, token: str | None,
                                advanced: Callable[[str, float], None] | None = None) -> list:
        """The vector cubes of the plan's aggregate_spatial nodes answered by the Statistical API;
        `advanced("statistics <node id>", fraction done)` reports progress."""
        def report(agg, fraction: float) -> None:
            if advanced is not None:
                advanced(f"statistics {agg.node_id}", fraction)

        async def one(agg):
            if agg.batch:
                if self.storage is None:
                    raise OpenEOError("ProcessUnsupported", "Batch Statistical needs the executor's S3 storage.", 400)
                run = BatchStatisticalRun(agg, self.sh, self.storage, token=token, pool=self.pool,
                                          on_progress=lambda percent: report(agg, percent / 100.0))
                result = await run.run()
            else:
                result = await fetch_statistics(agg, self.sh, token=token, max_concurrent=self.max_concurrent_loads)
            report(agg, 1.0)
            return result

        return list(await asyncio.gather(*(one(agg) for agg in plan.statistical_aggregations)))

    async def _fetch_sources(self, plan, user) -> dict:
        if not plan.result_sources:
            return {}
        if self.results is None:
            raise OpenEOError("ProcessUnsupported", "load_result is not available in this execution context.", 400)
        return await fetch_sources(self.results, user, plan.result_sources)

    async def run(self, plan, user, *, on_progress: Callable[[float], None] | None = None, extra: dict | None = None,
                  finish: Callable[[Any, compiler_pb2.OutputFormat, dict], Any] | None = None,
                  prefetched: list[LoadedCube] | None = None, budget: RunBudget | None = None,
                  spending=None) -> RunOutcome:
        """The cube strategy: fetches the loads (but those `prefetched`) and the result sources, and
        evaluates the graph within `budget` (default: this runner's limits, no deadline; its
        cancellation flag stops the evaluation at the next node). `finish(value, output, options)`
        (e.g. the encoder) runs in the same CPU-pool call as the evaluation; its result is
        `outcome.finished`. `spending` (`sentinelhub.spending.SpendingLimit`) stops the loads'
        requests before the one that would exceed a job's budget. A run that fails after it
        spent processing units says how many on its error (`OpenEOError.processing_units`)."""
        spending = spending if spending is not None else SpendingLimit(0.0)
        try:
            return await self._run(plan, user, on_progress=on_progress, extra=extra, finish=finish,
                                   prefetched=prefetched, budget=budget, spending=spending)
        except OpenEOError as exc:
            exc.processing_units = spending.spent + sum(item.processing_units for item in prefetched or [])
            raise

    async def _run(self, plan, user, *, on_progress, extra, finish, prefetched, budget, spending) -> RunOutcome:
        from executor_svc.processes import ExecutionContext

        # fetching is the first 60 %: each load and each statistical aggregation an equal share
        # (a Batch Statistical request's share follows its completion percentage)
        shares = {f"load {load.node_id}": 0.0 for load in plan.loads}
        shares |= {f"statistics {agg.node_id}": 0.0 for agg in plan.statistical_aggregations}

        def advanced(key: str, fraction: float) -> None:
            shares[key] = max(shares[key], fraction)
            if on_progress is not None and shares:
                on_progress(60.0 * sum(shares.values()) / len(shares))

        def loaded(cube: LoadedCube) -> None:
            advanced(f"load {cube.node_id}", 1.0)

        graph = _graph_of(plan)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        budget = budget or self.budget()
        # a large cube run is chunked (dask); small ones stay eager and pay nothing for it
        chunked = self.engine is not None and self.engine.wants(plan)
        to_dask = self.engine.to_dask(budget) if chunked else None
        loads, sourced, statistical = await _all_or_nothing(
            self.fetch_loads(plan, _token(user), loaded, prefetched, to_dask, spending),
            self._fetch_sources(plan, user),
            self.fetch_statistical(plan, _token(user), advanced))
        fetched = time.perf_counter()
        seeded = {item.result_node_id: item.cube for item in loads} | sourced
        if chunked:  # cubes fetched before the choice (a fast path's response) or from results
            seeded = {key: self.engine.chunk(cube) for key, cube in seeded.items()}
        seeded |= {s.node_id: s.cube for s in statistical}  # vector cubes: small, never chunked
        hook = ResultLoads(self.results, user, loop) if self.results is not None else None
        ctx = ExecutionContext(load_result=hook, extra=dict(extra or {}), budget=budget)
        timings = {"fetch_ms": _ms(fetched - started)}
        if chunked:
            log.info("run_chunked", chunk_px=self.engine.settings.chunk_px,
                     cluster=bool(self.engine.settings.scheduler_address))

        def evaluate_and_finish():
            value = evaluate_plan_graph(plan, graph, seeded, ctx)
            if chunked:
                value = self.engine.localize(value)
            if plan.single_image:  # a tile: one image of a cube with several dates
                value = most_recent_mosaic(value)
            evaluated = time.perf_counter()
            timings["evaluate_ms"] = _ms(evaluated - fetched)
            output, options = output_for(plan, value)
            if finish is None:
                return value, output, options, None
            finished = computing(finish, value, output, options)
            timings["finish_ms"] = _ms(time.perf_counter() - evaluated)
            return value, output, options, finished

        try:
            # the copied context carries the request id into the pool thread's log lines
            value, output, options, finished = await loop.run_in_executor(
                self.pool, contextvars.copy_context().run, evaluate_and_finish)
        except asyncio.CancelledError:
            # nobody waits any more (client gone, job canceled, lease lost): the pool thread stops
            # at the evaluator's next node instead of computing on
            ctx.budget.cancel.set()
            raise
        if on_progress is not None:
            on_progress(75.0)
        pu = sum(item.processing_units for item in loads) + sum(item.processing_units for item in statistical)
        return RunOutcome(value, pu, output, options, loads, list(ctx.inspections), timings, finished)
