"""Running an `ExecutionPlan`: fetch every load (concurrently), seed the graph evaluator with the
cubes, evaluate the remaining graph in the CPU pool.

`load_result` nodes stay in the graph (the compiler plans no Sentinel Hub load for them). Their
cubes are fetched asynchronously *before* evaluation, together with the Sentinel Hub loads, and
`ctx.load_result` hands the prepared cube to the evaluator thread; only a `load_result` whose
arguments are computed inside the graph is fetched during evaluation (the evaluator thread waits
for the coroutine on the service loop)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger

from .encoding.raster import is_raster_cube
from .graph.nodes import graph_nodes
from .loading.fetch import LoadedCube, _deployment_for, fetch_load
from .loading.request import process_request

log = get_logger(__name__)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


@dataclass
class RunOutcome:
    value: Any
    processing_units: float
    fmt: str
    options: dict
    loads: list[LoadedCube] = field(default_factory=list)
    inspections: list = field(default_factory=list)
    #: Wall time of the stages in ms ("fetch", "evaluate", "finish"), for the logs.
    timings: dict = field(default_factory=dict)
    #: What `run(..., finish=...)` returned.
    finished: Any = None


def defaulted_to_json(plan, saved_results: list | None, value) -> bool:
    """True when the graph chose no format (no save_result) and its result is no raster cube:
    then JSON, not the default GTiff (pure)."""
    return plan.HasField("output") and plan.output.defaulted and not saved_results and not is_raster_cube(value)


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

    nodes = graph_nodes(graph)
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
        original = getattr(ctx.load_result, "failure", None)
        if original is not None and exc.code == original.code:
            raise original from None  # keeps its HTTP status (e.g. JobNotFound 404)
        where = f" (node {exc.node_id!r})" if exc.node_id else ""
        raise OpenEOError(exc.code, f"{exc.message}{where}", 400) from None
    except RecursionError:
        raise OpenEOError("ProcessGraphComplexity", "The process graph nests callbacks or user-defined processes "
                          "too deeply to be evaluated.", 400) from None
    except (MemoryError, OpenEOError):
        raise


def _is_literal(value: Any) -> bool:
    if isinstance(value, dict):
        if "from_node" in value or "from_parameter" in value or "process_graph" in value:
            return False
        return all(_is_literal(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_literal(v) for v in value)
    return True


def _node_refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        if "process_graph" in value:
            return []  # callbacks only reference their own nodes
        if isinstance(value.get("from_node"), str):
            return [value["from_node"]]
        return [r for v in value.values() for r in _node_refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _node_refs(v)]
    return []


def _reachable(nodes: dict, result_node_id: str) -> set[str]:
    roots = [result_node_id] if result_node_id in nodes else [k for k, n in nodes.items() if isinstance(n, dict) and n.get("result")]
    if not roots:
        return set(nodes)
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        nid = pending.pop()
        if nid in seen or not isinstance(nodes.get(nid), dict):
            continue
        seen.add(nid)
        pending.extend(_node_refs(nodes[nid].get("arguments") or {}))
    return seen


def load_result_calls(graph: dict, result_node_id: str = "") -> list[dict]:
    """Keyword arguments of the top-level `load_result` nodes (that the result depends on) whose
    arguments are plain values."""
    nodes = graph_nodes(graph)
    calls = []
    needed = _reachable(nodes, result_node_id)
    for nid, node in nodes.items():
        if nid not in needed or not isinstance(node, dict) or node.get("process_id") != "load_result":
            continue
        if node.get("namespace") not in (None, "backend", "predefined"):
            continue
        args = node.get("arguments") or {}
        if not isinstance(args, dict) or "id" not in args or not _is_literal(args):
            continue
        calls.append({"id": args["id"], "spatial_extent": args.get("spatial_extent"),
                      "temporal_extent": args.get("temporal_extent"), "bands": args.get("bands")})
    return calls


class ResultLoads:
    """`ExecutionContext.load_result` of one run: prepared cubes by their arguments."""

    def __init__(self, loader, user, loop: asyncio.AbstractEventLoop):
        self.loader = loader
        self.user = user
        self.loop = loop
        self.cubes: dict[str, Any] = {}
        #: The OpenEOError of a load during evaluation (re-raised with its HTTP status).
        self.failure: OpenEOError | None = None

    @staticmethod
    def key(id, spatial_extent=None, temporal_extent=None, bands=None) -> str:
        return json.dumps([id, spatial_extent, temporal_extent, bands], sort_keys=True, default=str)

    async def prefetch(self, graph: dict, result_node_id: str = "") -> None:
        calls = {self.key(**call): call for call in load_result_calls(graph, result_node_id)}
        if not calls:
            return
        cubes = await asyncio.gather(*(self.loader.load(self.user, **call) for call in calls.values()))
        self.cubes.update(zip(calls, cubes))

    def __call__(self, id, *, spatial_extent=None, temporal_extent=None, bands=None):
        """Called by the evaluator in a pool thread."""
        cube = self.cubes.get(self.key(id, spatial_extent, temporal_extent, bands))
        if cube is not None:
            return cube
        from executor_svc.processes.errors import ProcessError

        future = asyncio.run_coroutine_threadsafe(
            self.loader.load(self.user, id, spatial_extent=spatial_extent, temporal_extent=temporal_extent, bands=bands),
            self.loop,
        )
        try:
            return future.result()
        except OpenEOError as exc:
            self.failure = exc
            raise ProcessError(exc.code, exc.message) from None


@dataclass
class ImageOutcome:
    """A result image made by Sentinel Hub itself (the image fast path)."""

    data: bytes
    media_type: str
    filename: str
    processing_units: float


IMAGE_MEDIA_TYPES = {"PNG": "image/png"}


def image_request(plan, split_threshold: int) -> tuple[dict, str] | None:
    """(Process API body, Accept) of the plan's image fast path, or None when it does not apply.

    Applies only when the compiler marked the single load (`image_evalscript`) for the format the
    plan outputs now (tiles_svc may override the format) with no scaling options, and the request
    is not split. A temporal load also returns `userdata` (tar) so its dates can be checked."""
    if len(plan.loads) != 1:
        return None
    load = plan.loads[0]
    media = IMAGE_MEDIA_TYPES.get(load.image_format)
    if not load.image_evalscript or media is None:
        return None
    fmt, options = output_of(plan)
    if fmt.strip().upper() != load.image_format or set(options) - {"filename_prefix"}:
        return None
    if max(load.width, load.height) > split_threshold:
        return None
    request = process_request(load)
    request["evalscript"] = load.image_evalscript
    responses = [{"identifier": "default", "format": {"type": media}}]
    if load.temporal:
        responses.append({"identifier": "userdata", "format": {"type": "application/json"}})
    request["output"]["responses"] = responses
    return request, ("application/x-tar" if load.temporal else media)


def image_from_response(content: bytes, content_type: str, media: str, temporal: bool) -> bytes | None:
    """The image of a fast-path response; None (fall back) unless it is one image of exactly one
    date (temporal loads). CPU: run in the pool."""
    from .sentinelhub.decode import is_tar, split_tar

    if not temporal:
        return None if is_tar(content, content_type) else content
    if not is_tar(content, content_type):
        return None
    members = split_tar(content)
    ext = {"image/png": "default.png"}[media]
    try:
        userdata = json.loads(members.get("userdata.json") or b"null")
    except ValueError:
        return None
    dates = userdata.get("dates") if isinstance(userdata, dict) else None
    if not isinstance(dates, list) or len(dates) != 1 or ext not in members:
        return None
    return members[ext]


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


class PlanRunner:
    """Runs plans with one shared Sentinel Hub client and CPU pool; `results` (a
    `loading.job_results.JobResultLoader`) makes `load_result` available."""

    def __init__(self, sh_client, pool: Executor, *, max_concurrent_loads: int = 4, results=None):
        self.sh = sh_client
        self.pool = pool
        self.max_concurrent_loads = max_concurrent_loads
        self.results = results

    async def fetch_loads(self, plan, token: str | None, on_load: Callable[[LoadedCube], None] | None = None,
                          prefetched: list[LoadedCube] | None = None) -> list[LoadedCube]:
        semaphore = asyncio.Semaphore(self.max_concurrent_loads)
        ready = {item.node_id: item for item in prefetched or []}

        async def one(load) -> LoadedCube:
            if load.node_id in ready:
                loaded = ready[load.node_id]
                if on_load is not None:
                    on_load(loaded)
                return loaded
            async with semaphore:
                loaded = await fetch_load(load, self.sh, token=token, executor=self.pool)
            if on_load is not None:
                on_load(loaded)
            return loaded

        return list(await asyncio.gather(*(one(load) for load in plan.loads)))

    async def run_image(self, plan, user) -> ImageOutcome | None:
        """The image fast path: one Sentinel Hub request whose response is the result image.

        None when it does not apply or the response is not usable (e.g. not exactly one date):
        the caller then runs the plan normally. Sentinel Hub errors also fall back, so the normal
        path reports them exactly as before."""
        config = getattr(self.sh, "config", None)
        made = image_request(plan, getattr(config, "split_threshold", 0))
        if made is None:
            return None
        request, accept = made
        load = plan.loads[0]
        token = user.sh_access_token or None if user is not None else None
        try:
            response = await self.sh.process(request, token=token, deployment=_deployment_for(load, self.sh), accept=accept)
        except OpenEOError as exc:
            log.info("image_fast_path_failed", node_id=load.node_id, code=exc.code)
            return None
        media = IMAGE_MEDIA_TYPES[load.image_format]
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(
            self.pool, image_from_response, response.content, response.content_type, media, load.temporal
        )
        if data is None:
            log.info("image_fast_path_fallback", node_id=load.node_id, processing_units=response.processing_units)
            return None
        _, options = output_of(plan)
        prefix = str(options.get("filename_prefix") or "openEO").replace("/", "_")
        ext = {"PNG": "png"}[load.image_format]
        return ImageOutcome(data, media, f"{prefix}.{ext}", response.processing_units)

    async def run_passthrough(self, plan, user) -> tuple[ImageOutcome | None, LoadedCube | None]:
        """The GTiff pass-through (`gtiff_passthrough`): (the result file, None) when it applies;
        (None, the fetched load) when the plan qualified but the response needs the normal path
        (hand it to `run(..., prefetched=...)`); (None, None) when it does not apply."""
        from .gtiff_passthrough import encode_passthrough, passthrough_load
        from .loading.cube import cube_from_raster
        from .sentinelhub.decode import decode_response

        config = getattr(self.sh, "config", None)
        found = passthrough_load(plan, getattr(config, "split_threshold", 0))
        if found is None:
            return None, None
        load, options = found
        token = user.sh_access_token or None if user is not None else None
        started = time.perf_counter()
        response = await self.sh.process(process_request(load), token=token, deployment=_deployment_for(load, self.sh))
        fetched = time.perf_counter()

        def encode():
            made = encode_passthrough(response.content, response.content_type, load, options)
            if made is not None:
                return made, None
            decoded = decode_response(response.content, response.content_type, "default")
            return None, cube_from_raster(decoded.data, decoded.userdata, load, decoded.nodata)

        made, cube = await asyncio.get_running_loop().run_in_executor(self.pool, encode)
        if made is None:
            log.info("gtiff_passthrough_fallback", node_id=load.node_id)
            return None, LoadedCube(load.node_id, load.result_node_id or load.node_id, cube, response.processing_units, 1)
        log.info("execute_result", format="GTiff", filename=made.filename, size=len(made.data),
                 processing_units=response.processing_units, passthrough=True, fetch_ms=_ms(fetched - started),
                 evaluate_ms=0.0, finish_ms=_ms(time.perf_counter() - fetched))
        return ImageOutcome(made.data, made.media_type, made.filename, response.processing_units), None

    async def run(self, plan, user, *, on_progress: Callable[[float], None] | None = None, extra: dict | None = None,
                  finish: Callable[[Any, str, dict], Any] | None = None,
                  prefetched: list[LoadedCube] | None = None) -> RunOutcome:
        """Fetches the loads (but those `prefetched`) and evaluates the graph. `finish(value,
        format, options)` (e.g. the encoder) runs in the same CPU-pool call as the evaluation; its
        result is `outcome.finished`."""
        from executor_svc.processes import ExecutionContext

        token = user.sh_access_token or None if user is not None else None
        done = 0

        def loaded(_cube: LoadedCube) -> None:
            nonlocal done
            done += 1
            if on_progress is not None and plan.loads:
                on_progress(60.0 * done / len(plan.loads))

        graph = _graph_of(plan)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        result_loads = ResultLoads(self.results, user, loop) if self.results is not None else None
        if result_loads is not None:
            loads, _ = await _all_or_nothing(self.fetch_loads(plan, token, loaded, prefetched),
                                             result_loads.prefetch(graph, plan.result_node_id))
        else:
            loads = await self.fetch_loads(plan, token, loaded, prefetched)
        fetched = time.perf_counter()
        seeded = {item.result_node_id: item.cube for item in loads}
        ctx = ExecutionContext(load_result=result_loads, extra=dict(extra or {}))
        timings = {"fetch_ms": _ms(fetched - started)}

        def evaluate_and_finish():
            value = evaluate_graph(graph, seeded, plan.result_node_id, ctx)
            evaluated = time.perf_counter()
            timings["evaluate_ms"] = _ms(evaluated - fetched)
            fmt, options = output_of(plan, ctx.saved_results)
            if defaulted_to_json(plan, ctx.saved_results, value):
                fmt = "JSON"
            if finish is None:
                return value, fmt, options, None
            finished = finish(value, fmt, options)
            timings["finish_ms"] = _ms(time.perf_counter() - evaluated)
            return value, fmt, options, finished

        value, fmt, options, finished = await loop.run_in_executor(self.pool, evaluate_and_finish)
        if on_progress is not None:
            on_progress(75.0)
        pu = sum(item.processing_units for item in loads)
        return RunOutcome(value, pu, fmt, options, loads, list(ctx.inspections), timings, finished)
