"""One batch worker loop: claim → compile → run → encode → upload → complete, with a heartbeat
that renews the lease, reports progress and stops the run on cancel or lost lease."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
import uuid
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import grpc

from backend_common.errors import OpenEOError, from_rpc_error
from backend_common.logging import get_logger
from backend_proto.v1 import common_pb2, compiler_pb2, store_pb2
from executor_svc.encoding import encode_result
from executor_svc.storage.s3 import S3Storage

from .chunking import split_plan
from .results import METADATA_NAME, build_results, extent_of, merge_extents, stac_metadata
from .retry import DependencyDown, is_transient, with_retries

log = get_logger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    worker_id: str
    work_dir: str = tempfile.gettempdir()
    lease_seconds: int = 30
    renew_seconds: float = 10.0
    poll_seconds: float = 2.0
    io_retries: int = 5
    retry_base_delay: float = 0.5
    #: Output pixels above which a per-pixel graph is processed in spatial chunks.
    chunk_pixels: int = 4096 * 4096


class _State:
    def __init__(self):
        self.progress = 0.0
        self.stop_reason: str | None = None  # "canceled" | "lease_lost"


def _remove_payloads(files) -> None:
    for f in files:
        try:
            f.path.unlink()
        except FileNotFoundError:
            pass


def _retrieve(task: asyncio.Task) -> None:
    """Marks an abandoned task's outcome as seen (no 'exception was never retrieved' warning)."""
    if not task.cancelled():
        task.exception()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class BatchWorker:
    def __init__(self, settings: WorkerSettings, store, compiler, runner, storage: S3Storage, pool: Executor):
        self.settings = settings
        self.store = store
        self.compiler = compiler
        self.runner = runner
        self.storage = storage
        self.pool = pool

    # ---- loop ----

    async def run(self, stop: asyncio.Event) -> None:
        log.info("batch_worker_started", worker_id=self.settings.worker_id)
        while not stop.is_set():
            try:
                claimed = await self.claim_and_run()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a worker never dies of one job
                log.exception("batch_worker_iteration_failed", worker_id=self.settings.worker_id)
                claimed = False
            if not claimed:
                try:
                    await asyncio.wait_for(stop.wait(), self.settings.poll_seconds)
                except asyncio.TimeoutError:
                    pass
        log.info("batch_worker_stopped", worker_id=self.settings.worker_id)

    async def claim_and_run(self) -> bool:
        try:
            response = await self.store.ClaimJob(
                store_pb2.ClaimJobRequest(worker_id=self.settings.worker_id, lease_seconds=self.settings.lease_seconds)
            )
        except grpc.aio.AioRpcError as err:
            log.warning("claim_failed", code=err.code().name, details=err.details())
            return False
        if not response.HasField("job") or not response.job.id:
            return False
        await self.process(response.job, response.lease_token)
        return True

    # ---- one job ----

    async def _log(self, job_id: str, level: str, message: str, data: dict | None = None, code: str = "") -> None:
        entry = store_pb2.LogEntry(
            level=level, message=message, time=_now(), data_json=json.dumps(data) if data else "", code=code
        )
        # one key for every attempt: a retry after a lost reply does not store the entry twice
        request = store_pb2.AppendJobLogsRequest(job_id=job_id, entries=[entry], append_id=uuid.uuid4().hex)
        try:
            await with_retries(
                lambda: self.store.AppendJobLogs(request),
                what="appending job logs",
                attempts=2,
                base_delay=self.settings.retry_base_delay,
            )
        except Exception as exc:  # noqa: BLE001 - logs are best effort
            log.warning("job_log_append_failed", job_id=job_id, error=str(exc)[:200])

    async def process(self, job, lease_token: str) -> str:
        """Runs one claimed job to its final state; returns that state (or "lease_lost")."""
        started = time.monotonic()
        state = _State()
        log.info("job_claimed", job_id=job.id, attempt=job.attempts, worker_id=self.settings.worker_id)
        work = asyncio.create_task(self._execute(job, state))
        heartbeat = asyncio.create_task(self._heartbeat(job, lease_token, state, work))
        try:
            await asyncio.wait({work})
        except asyncio.CancelledError:
            work.cancel()
            heartbeat.cancel()
            raise
        heartbeat.cancel()
        try:
            await heartbeat
        except asyncio.CancelledError:
            pass
        usage = {"duration": {"value": round(time.monotonic() - started, 3), "unit": "seconds"}}

        if state.stop_reason == "lease_lost":
            log.warning("job_lease_lost", job_id=job.id)
            return "lease_lost"
        if state.stop_reason == "canceled":
            await self._log(job.id, "info", "The job was canceled; partial results are removed.")
            try:
                await self.storage.delete_prefix(f"jobs/{job.id}/")
            except Exception as exc:  # noqa: BLE001
                log.warning("job_cancel_cleanup_failed", job_id=job.id, error=str(exc)[:200])
            return await self._complete(job, lease_token, "canceled", usage_json=json.dumps(usage))

        exc = work.exception()
        if exc is None:
            results, pu = work.result()
            usage["sentinelhub"] = {"value": pu, "unit": "sentinelhub_processing_unit"}
            await self._log(job.id, "info", f"Job finished: {len(results.assets)} asset(s) written.",
                            {"processing_units": pu})
            return await self._complete(job, lease_token, "finished", results=results,
                                        usage_json=json.dumps(usage), costs=pu)
        if isinstance(exc, OpenEOError):
            error = {"code": exc.code, "message": exc.message}
        elif isinstance(exc, DependencyDown):
            error = {"code": "Internal", "message": f"Server error: {exc}. Please try again later."}
        else:
            log.error("job_internal_error", job_id=job.id, error=repr(exc)[:500])
            error = {"code": "Internal", "message": "Server error: the job failed unexpectedly."}
        await self._log(job.id, "error", error["message"], code=error["code"])
        return await self._complete(job, lease_token, "error", error_json=json.dumps(error), usage_json=json.dumps(usage))

    async def _complete(self, job, lease_token: str, status: str, **fields) -> str:
        request = store_pb2.CompleteJobRequest(job_id=job.id, lease_token=lease_token, status=status, **fields)
        try:
            await with_retries(
                lambda: self.store.CompleteJob(request),
                what="completing the job",
                attempts=self.settings.io_retries,
                base_delay=self.settings.retry_base_delay,
            )
        except grpc.aio.AioRpcError as err:
            log.warning("job_complete_refused", job_id=job.id, status=status, code=err.code().name, details=err.details())
            return "lease_lost"
        except DependencyDown as err:
            # the lease expires and the store requeues the job
            log.error("job_complete_failed", job_id=job.id, status=status, error=str(err))
            return "store_unavailable"
        log.info("job_completed", job_id=job.id, status=status)
        return status

    async def _heartbeat(self, job, lease_token: str, state: _State, work: asyncio.Task) -> None:
        last_renewed = time.monotonic()
        while not work.done():
            await asyncio.sleep(self.settings.renew_seconds)
            if work.done():
                return
            try:
                response = await self.store.RenewLease(
                    store_pb2.RenewLeaseRequest(
                        job_id=job.id,
                        lease_token=lease_token,
                        lease_seconds=self.settings.lease_seconds,
                        progress=state.progress,
                    )
                )
            except grpc.aio.AioRpcError as err:
                if is_transient(err) and time.monotonic() - last_renewed < self.settings.lease_seconds:
                    log.warning("lease_renew_failed", job_id=job.id, code=err.code().name)
                    continue
                log.warning("lease_renew_gave_up", job_id=job.id, code=err.code().name)
                state.stop_reason = "lease_lost"
                work.cancel()
                return
            last_renewed = time.monotonic()
            if not response.lease_held:
                state.stop_reason = "lease_lost"
                work.cancel()
                return
            if response.cancel_requested:
                state.stop_reason = "canceled"
                work.cancel()
                return

    async def _execute(self, job, state: _State):
        s = self.settings
        retry = dict(attempts=s.io_retries, base_delay=s.retry_base_delay)
        await self._log(job.id, "info", f"Job started (attempt {job.attempts or 1}) by worker {s.worker_id}.")
        user = common_pb2.User(user_id=job.user_id)

        async def compile_():
            try:
                return await self.compiler.Compile(
                    compiler_pb2.CompileRequest(user=user, process_json=job.process_json, purpose=compiler_pb2.PURPOSE_BATCH)
                )
            except grpc.aio.AioRpcError as err:
                if is_transient(err):
                    raise
                raise from_rpc_error(err) from None

        plan = await with_retries(compile_, what="compiling the process graph", **retry)
        state.progress = 5.0
        prefix = f"jobs/{job.id}/"
        removed = await with_retries(lambda: self.storage.delete_prefix(prefix), what="clearing previous results", **retry)
        if removed:
            await self._log(job.id, "info", f"Removed {removed} object(s) left by an earlier attempt.")
        await self._log(job.id, "info", f"Fetching {len(plan.loads)} Sentinel Hub load(s).",
                        {"estimated_processing_units": plan.estimated_processing_units, "estimated_pixels": plan.estimated_pixels})

        chunks = split_plan(plan, s.chunk_pixels)
        if len(chunks) > 1:
            await self._log(job.id, "info", f"Large area: processing {len(chunks)} spatial chunks one after another.")
        loop = asyncio.get_running_loop()
        tmp = Path(tempfile.mkdtemp(prefix=f"job-{job.id}-", dir=s.work_dir))
        share = 90.0 / len(chunks)

        def start_run(index: int) -> asyncio.Task:
            def on_progress(value: float) -> None:
                state.progress = max(state.progress, 5.0 + index * share + share * value / 100.0)

            return asyncio.create_task(
                self.runner.run(chunks[index][1], user, on_progress=on_progress, extra={"job_id": job.id})
            )

        # Pipelined: chunk i+1 is fetched and evaluated while chunk i is encoded and uploaded, so
        # Sentinel Hub keeps rendering during the (CPU-bound) encoding; at most two chunks are held.
        pending: asyncio.Task | None = None
        try:
            all_files = []
            extents = []
            total_pu = 0.0
            pending = start_run(0)
            for index, (suffix, _chunk_plan) in enumerate(chunks):
                outcome = await pending
                pending = start_run(index + 1) if index + 1 < len(chunks) else None
                total_pu += outcome.processing_units
                for record in outcome.inspections:
                    await self._log(job.id, record.get("level", "info"), str(record.get("message", "")),
                                    {"data": record.get("data")} if record.get("data") is not None else None,
                                    code=str(record.get("code") or ""))
                options = dict(outcome.options)
                if suffix:
                    options["filename_prefix"] = str(options.get("filename_prefix") or "openEO") + suffix
                chunk_dir = tmp / f"chunk{index}"
                files = await loop.run_in_executor(self.pool, encode_result, outcome.value, outcome.output, options, chunk_dir)
                extents.append(extent_of(outcome.value))
                del outcome  # free the chunk's cubes before the next one
                for f in files:
                    key = prefix + f.name
                    await with_retries(lambda f=f, key=key: self.storage.upload_file(key, f.path, f.media_type),
                                       what=f"uploading {f.name}", **retry)
                await loop.run_in_executor(self.pool, _remove_payloads, files)
                all_files.extend(files)
                state.progress = max(state.progress, 5.0 + (index + 1) * share)
            files = all_files
            extent = merge_extents(extents)
            draft = build_results(job.id, files, extent)
            metadata = stac_metadata(job, draft, total_pu)
            metadata_key = prefix + METADATA_NAME
            await with_retries(lambda: self.storage.put_bytes(metadata_key, metadata, "application/json"),
                               what="uploading the STAC metadata", **retry)
            results = build_results(job.id, files, extent, metadata_key=metadata_key, metadata_size=len(metadata))
            state.progress = 100.0
            return results, total_pu
        finally:
            if pending is not None:  # the job failed or was stopped while the next chunk ran
                pending.cancel()
                pending.add_done_callback(_retrieve)
            await loop.run_in_executor(self.pool, shutil.rmtree, tmp, True)
