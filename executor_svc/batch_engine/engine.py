"""A batch job on Sentinel Hub's Batch Processing API v2 (a plan with `batch_api`).

Sentinel Hub runs the pushed-down load on its cluster, tile by tile of its grid, and writes each
tile to the results bucket. The engine creates the task (`request.py`), starts it and polls its
status and the per-tile execution DB it uploads. Each tile that arrives is read from S3, finished
with the rest of the graph as a small load (`tiles.py`, the runner's cube strategy), cut to the
tile without the buffer its kernels needed, encoded (one COG per date) and uploaded at once, so memory is bounded by one tile whatever the area. Failed
tiles' reasons go to the job log; the job ends in `error` when any tile failed, and a restart
creates a task on the same paths whose `skipExisting` leaves the delivered tiles alone (not
rendered, not billed again). A canceled run stops the Sentinel Hub task.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger
from backend_proto.v1 import compiler_pb2
from executor_svc.batch.results import extent_of
from executor_svc.encoding import encode_result
from executor_svc.loading.fetch import deployment_for
from executor_svc.storage.s3 import ObjectNotFound

from .api import BatchApi, TaskState
from .execution_db import TileStatus, parse_execution_db
from .request import DeliveryTarget, execution_db_key, task_body, tile_key
from .tiles import tile_load

log = get_logger(__name__)

#: polls after DONE while the execution DB still lists pending tiles (it is uploaded periodically)
SETTLE_POLLS = 10


def estimate(plan) -> dict:
    """Cost estimate of a Batch API plan for `GET /jobs/{id}/estimate`: Batch v2's analysis returns
    no PU estimate (v1's `valueEstimate` is gone), so it is the compiler's one by Sentinel Hub's
    batch rules (a third for large tiles, at least 100 PU) with the number of grid tiles."""
    engine = plan.batch_api
    return {"costs": engine.estimated_processing_units, "tiles": int(engine.estimated_tiles),
            "grid": {"id": int(engine.grid_id), "resolution": engine.resolution}}


def without_buffer(value, buffer: int):
    """The tile without the `buffer` pixels on each side that only fed the kernels."""
    if buffer <= 0 or not hasattr(value, "dims") or "x" not in value.dims or "y" not in value.dims:
        return value
    return value.isel(x=slice(buffer, value.sizes["x"] - buffer), y=slice(buffer, value.sizes["y"] - buffer))


@dataclass
class TileOutcome:
    files: list = field(default_factory=list)  # EncodedFile (payloads already uploaded and removed)
    extents: list = field(default_factory=list)


@dataclass
class BatchApiRun:
    plan: compiler_pb2.ExecutionPlan
    job_id: str
    owner: object
    runner: object  # PlanRunner: its Sentinel Hub client, CPU pool and cube strategy
    storage: object  # S3Storage of the results bucket (where Sentinel Hub delivers too)
    pool: Executor
    target: DeliveryTarget
    work_dir: Path
    log_line: Callable[..., None]  # (level, message, data=None)
    upload: Callable[[str, Path, str], Awaitable[None]]  # (key, path, media type), retried by the caller
    on_progress: Callable[[float], None] = lambda value: None
    on_tile: Callable[[TileOutcome], None] = lambda outcome: None  # after each tile (partial results)
    poll_seconds: float = 2.0
    description: str = ""
    outcome: TileOutcome = field(default_factory=TileOutcome)

    async def run(self) -> tuple[TileOutcome, float]:
        """(the finished tiles' files and extents, the PUs Sentinel Hub billed)."""
        load = self.plan.loads[0]
        api = BatchApi(self.runner.sh, self.owner.sh_access_token or None, deployment_for(load, self.runner.sh))
        engine = self.plan.batch_api
        task = await api.create(task_body(self.plan, self.job_id, self.target, self.description))
        if not task.id:
            raise OpenEOError("SentinelHubError", "Sentinel Hub created the batch task without an id.", 502)
        self.log_line("info", f"Sentinel Hub batch task {task.id} created: tiling grid {engine.grid_id} at "
                              f"{engine.resolution:g} m, about {engine.estimated_tiles} tile(s).")
        try:
            await api.start(task.id)
            return await self._follow(api, task.id)
        except asyncio.CancelledError:
            await self._stop(api, task.id)
            raise

    async def _stop(self, api: BatchApi, task_id: str) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(api.stop(task_id)), 15.0)
            log.info("batch_api_task_stopped", job_id=self.job_id, task_id=task_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a finished task cannot be stopped; nothing to do
            log.warning("batch_api_stop_failed", job_id=self.job_id, task_id=task_id, error=str(exc)[:300])

    async def _tiles(self, task_id: str) -> list[TileStatus]:
        try:
            payload = await self.storage.get_bytes(execution_db_key(self.job_id, task_id))
        except ObjectNotFound:
            return []
        return await asyncio.get_running_loop().run_in_executor(self.pool, parse_execution_db, payload)

    async def _follow(self, api: BatchApi, task_id: str) -> tuple[TileOutcome, float]:
        handled: set[str] = set()
        failed: dict[str, str] = {}
        settle = 0
        while True:
            state: TaskState = await api.get(task_id)
            tiles = await self._tiles(task_id)
            for tile in tiles:
                if tile.name in handled:
                    continue
                if tile.has_output:
                    await self._finish_tile(tile.name)
                    handled.add(tile.name)
                elif tile.status == "DONE":  # a tile without any data has no files
                    handled.add(tile.name)
                    self.log_line("info", f"Tile {tile.name}: {tile.error or 'no data'}.")
                elif tile.status == "FATAL":
                    handled.add(tile.name)
                    failed[tile.name] = tile.error or "no reason given"
                    self.log_line("error", f"Tile {tile.name} failed on Sentinel Hub: {failed[tile.name]}",
                                  {"tile": tile.name})
            if tiles:
                self.on_progress(5.0 + 90.0 * len(handled) / len(tiles))
            if state.status == "FAILED":
                raise OpenEOError("SentinelHubBatchFailed",
                                  f"Sentinel Hub's batch task failed: {state.error or 'no reason given'}", 502)
            if state.status == "STOPPED":
                raise OpenEOError("SentinelHubBatchStopped",
                                  f"Sentinel Hub stopped the batch task ({state.stopped_reason or 'no reason given'})."
                                  " Restart the job to go on with the remaining tiles.", 502)
            if state.status == "DONE":
                pending = [t for t in tiles if t.name not in handled]
                if not pending and tiles:
                    break
                settle += 1
                if settle > SETTLE_POLLS:
                    raise OpenEOError("SentinelHubBatchFailed", f"Sentinel Hub's batch task ended with "
                                      f"{len(pending) if tiles else 'unknown'} tile(s) not reported.", 502)
            await asyncio.sleep(self.poll_seconds)
        cost = state.cost_pu
        if failed:
            names = ", ".join(f"{name} ({reason})" for name, reason in sorted(failed.items())[:5])
            more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
            raise OpenEOError("SentinelHubTilesFailed",
                              f"{len(failed)} of {len(tiles)} tile(s) failed on Sentinel Hub: {names}{more}. "
                              "Restarting the job re-runs only the failed tiles.", 502)
        self.log_line("info", f"Sentinel Hub batch task {task_id} finished {len(handled)} tile(s).",
                      {"processing_units": cost})
        return self.outcome, cost

    async def _finish_tile(self, name: str) -> None:
        """The rest of the graph on one delivered tile; its files are uploaded at once."""
        loop = asyncio.get_running_loop()
        tiff = await self.storage.get_bytes(tile_key(self.job_id, name, "default.tif"))
        try:
            userdata = await self.storage.get_bytes(tile_key(self.job_id, name, "userdata.json"))
        except ObjectNotFound:
            userdata = b"null"
        plan_t, loaded = await loop.run_in_executor(self.pool, tile_load, self.plan, tiff, userdata, name)
        del tiff
        tile_dir = self.work_dir / name
        buffer = int(self.plan.batch_api.buffer_px)

        def encode(value, output, options):
            options = dict(options)
            options["filename_prefix"] = f"{options.get('filename_prefix') or 'openEO'}_{name}"
            return encode_result(without_buffer(value, buffer), output, options, tile_dir)

        # encoded in the run: a chunked tile's process errors become the run's openEO errors
        outcome = await self.runner.run(plan_t, self.owner, prefetched=[loaded], extra={"job_id": self.job_id},
                                        finish=encode)
        del loaded
        files = outcome.finished
        self.outcome.extents.append(extent_of(without_buffer(outcome.value, buffer)))
        del outcome
        for f in files:
            await self.upload(f"jobs/{self.job_id}/{f.name}", f.path, f.media_type)
        await loop.run_in_executor(self.pool, shutil.rmtree, tile_dir, True)
        self.outcome.files.extend(files)
        self.on_tile(self.outcome)
