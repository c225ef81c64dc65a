"""Runs Batch v2 tasks in the background: analysis (tiles of the grid, a test run of the evalscript) and
processing (each tile rendered by the Process API's renderer, written to the delivery bucket), a few
tiles at a time, with per-tile retries, fault injection, processing-unit accounting and the execution
DB uploaded as tiles finish."""
from __future__ import annotations

import asyncio
import io
import tarfile
import time
from concurrent.futures import Executor
from dataclasses import dataclass

from ..errors import SHError
from ..faults import FaultInjector
from ..logs import get_logger
from ..process_request import ProcessPlan, ResponseSpec
from ..render import Renderer
from ..stats import Stats
from .delivery import Bucket, DeliveryError
from .execution_db import execution_db_bytes
from .feature_manifest import feature_manifest_bytes, manifest_key
from .grids import area_polygon, tiles_for
from .request import FORMAT_EXTENSIONS
from .tasks import MAX_TILE_ATTEMPTS, Task, TileState

log = get_logger(__name__)

BATCH_MIN_PU = 100.0  # per task
BATCH_FACTOR_MIN_PX = 10_000  # tiles of at least this many pixels cost a third


@dataclass
class BatchSettings:
    s3_endpoint: str | None = None
    tile_concurrency: int = 2
    restart_lock_s: float = 1800.0
    execution_db_interval_s: float = 2.0
    min_account_pu: float = 1000.0


class BatchRunner:
    def __init__(self, settings: BatchSettings, renderer: Renderer, executor: Executor, stats: Stats,
                 faults: FaultInjector):
        self.settings = settings
        self.renderer = renderer
        self.executor = executor
        self.stats = stats
        self.faults = faults
        self.tasks: dict[str, Task] = {}
        self._jobs: dict[str, asyncio.Task] = {}

    # ---------------------------------------------------------------- lifecycle

    def launch(self, task: Task, what: str) -> None:
        if what == "none":
            return
        previous = self._jobs.get(task.id)  # a stopped run still finishing its in-flight tiles
        job = asyncio.create_task(self._drive(task, what, previous), name=f"batch-{task.id}")
        self._jobs[task.id] = job
        job.add_done_callback(lambda j, tid=task.id: self._jobs.pop(tid, None) if self._jobs.get(tid) is j else None)

    async def close(self) -> None:
        jobs = list(self._jobs.values())
        for j in jobs:
            j.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)

    async def write_request_copy(self, task: Task) -> None:
        """At create Sentinel Hub writes the request to the delivery location: bad credentials fail here."""
        import json

        async with Bucket(task.request.delivery, self.settings.s3_endpoint) as bucket:
            await bucket.put(f"{task.request.delivery.root()}request-{task.id}.json",
                             json.dumps(task.body).encode(), "application/json")

    async def _drive(self, task: Task, what: str, previous: asyncio.Task | None = None) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        try:
            if what in ("analyse", "analyse_then_process"):
                if not await self._analyse(task):
                    return
            await self._process(task)
        except asyncio.CancelledError:
            raise
        except DeliveryError as exc:
            task.fail(str(exc))
        except Exception:  # noqa: BLE001 - a task fails with a message, never kills the emulator
            log.exception("batch_task_crashed", task=task.id)
            task.fail("Internal error while processing the task.")

    # ---------------------------------------------------------------- analysis

    async def _analyse(self, task: Task) -> bool:
        req = task.request
        loop = asyncio.get_running_loop()
        try:
            tiles = await loop.run_in_executor(self.executor, lambda: tiles_for(
                req.grid, req.resolution, area_polygon(req.bbox, req.geometry), req.epsg, req.buffer_x,
                req.buffer_y))
        except ValueError as exc:
            task.fail(str(exc))
            return False
        if not tiles:
            task.fail(f"The area of interest does not intersect tiling grid {req.grid.id}.")
            return False
        # the evalscript is validated by a test run on one pixel of the first tile
        try:
            await loop.run_in_executor(self.executor, self.renderer.render, self._plan(task, tiles[0], probe=True))
        except SHError as exc:
            task.fail(f"Evalscript validation failed: {exc.message}")
            return False
        manifest = await loop.run_in_executor(self.executor, feature_manifest_bytes, req, task.id, tiles)
        async with Bucket(req.delivery, self.settings.s3_endpoint) as bucket:
            await bucket.put(manifest_key(req, task.id), manifest, "application/geopackage+sqlite3")
        self.stats.batch["analysed"] += 1
        return task.analysis_done(tiles)

    # ---------------------------------------------------------------- processing

    async def _process(self, task: Task) -> None:
        pending = [t for t in task.tiles if t.status == "PENDING"]
        queue: asyncio.Queue[TileState] = asyncio.Queue()
        for t in pending:
            queue.put_nowait(t)
        async with Bucket(task.request.delivery, self.settings.s3_endpoint) as bucket:
            flusher = asyncio.create_task(self._flush_periodically(task, bucket))
            try:
                workers = [asyncio.create_task(self._worker(task, bucket, queue))
                           for _ in range(max(1, self.settings.tile_concurrency))]
                await asyncio.gather(*workers)
            finally:
                flusher.cancel()
                await asyncio.gather(flusher, return_exceptions=True)
            await self._flush(task, bucket)
        if task.status == "PROCESSING" and all(t.status != "PENDING" for t in task.tiles):
            if task.cost_pu < BATCH_MIN_PU:
                self._charge(task, BATCH_MIN_PU - task.cost_pu)
            task.finish()

    async def _worker(self, task: Task, bucket: Bucket, queue: asyncio.Queue) -> None:
        while not queue.empty():
            if task.status != "PROCESSING":
                return  # stopped: no new tile starts (in-flight ones finish and are charged)
            state = queue.get_nowait()
            await self._run_tile(task, bucket, state)
            task.touch()

    async def _run_tile(self, task: Task, bucket: Bucket, state: TileState) -> None:
        req, tile = task.request, state.tile
        keys = [(ident, fmt, req.delivery.key(task.id, tile.name, tile.id, ident, FORMAT_EXTENSIONS[fmt]))
                for ident, fmt in req.responses]
        present = [await bucket.exists(k) for _, _, k in keys]
        if req.skip_existing and all(present):
            state.status, state.delivered = "DONE", True
            self.stats.batch["tiles_skipped"] += 1
            return
        if any(present) and not req.overwrite:
            state.status = "FATAL"
            state.error = "Output files already exist; set overwrite or skipExisting."
            self.stats.batch["tiles_fatal"] += 1
            return
        loop = asyncio.get_running_loop()
        while state.attempts < MAX_TILE_ATTEMPTS:
            state.attempts += 1
            fault = self.faults.take_tile(tile.id, tile.name)
            try:
                if fault is not None and fault.delay_ms:
                    await asyncio.sleep(fault.delay_ms / 1000)
                if fault is not None and (fault.status is not None or fault.message):
                    raise SHError(fault.status or 500, fault.message or f"Injected tile failure ({fault.status})")
                self.stats.batch["tile_renders"] += 1
                self.stats.batch_tile_renders[tile.name] += 1
                result = await loop.run_in_executor(self.executor, self.renderer.render, self._plan(task, tile))
                members = await loop.run_in_executor(self.executor, _untar, result.body)
                for ident, fmt, key in keys:
                    name = f"{ident}.{FORMAT_EXTENSIONS[fmt]}"
                    payload = members[name]
                    if req.cog_output and fmt == "image/tiff":
                        payload = await loop.run_in_executor(self.executor, _to_cog, payload)
                    await bucket.put(key, payload, fmt)
            except (SHError, DeliveryError) as exc:
                state.error = exc.message if isinstance(exc, SHError) else str(exc)
                self.stats.batch["tile_attempts_failed"] += 1
                continue
            pixels = tile.width * tile.height
            self._charge(task, result.pu / 3 if pixels >= BATCH_FACTOR_MIN_PX else result.pu)
            state.status, state.error, state.delivered = "DONE", None, True
            self.stats.batch["tiles_done"] += 1
            return
        state.status = "FATAL"
        self.stats.batch["tiles_fatal"] += 1

    def _charge(self, task: Task, pu: float) -> None:
        task.cost_pu += pu
        self.stats.pu_spent += pu
        self.stats.pu_by_client[task.client_id] += pu

    def _plan(self, task: Task, tile, probe: bool = False) -> ProcessPlan:
        req = task.request
        responses = [ResponseSpec(ident, fmt) for ident, fmt in req.responses]
        if probe:
            x0, y0 = tile.bbox[0], tile.bbox[3]
            rx, ry = (tile.bbox[2] - tile.bbox[0]) / tile.width, (tile.bbox[3] - tile.bbox[1]) / tile.height
            return ProcessPlan((x0, y0 - ry, x0 + rx, y0), tile.epsg, None, 1, 1, req.data, responses,
                               req.evalscript, "tar")
        return ProcessPlan(tile.bbox, tile.epsg, None, tile.width, tile.height, req.data, responses,
                           req.evalscript, "tar")

    async def _flush_periodically(self, task: Task, bucket: Bucket) -> None:
        while True:
            await asyncio.sleep(self.settings.execution_db_interval_s)
            try:
                await self._flush(task, bucket)
            except DeliveryError as exc:
                log.warning("execution_db_upload_failed", task=task.id, error=str(exc))

    async def _flush(self, task: Task, bucket: Bucket) -> None:
        started = time.perf_counter()
        payload = await asyncio.get_running_loop().run_in_executor(self.executor, execution_db_bytes,
                                                                   list(task.tiles))
        await bucket.put(f"{task.request.delivery.root()}execution-{task.id}.sqlite", payload,
                         "application/vnd.sqlite3")
        log.debug("execution_db_uploaded", task=task.id, ms=round((time.perf_counter() - started) * 1000, 1))


def _untar(body: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def _to_cog(tif: bytes) -> bytes:
    import rasterio
    from rasterio.shutil import copy as rio_copy

    with rasterio.MemoryFile(tif) as src, rasterio.MemoryFile() as dst:
        rio_copy(src.name, dst.name, driver="COG")
        return dst.read()
