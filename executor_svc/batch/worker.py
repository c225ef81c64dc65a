"""One batch worker loop: claim → compile → run → encode → upload → complete, with a heartbeat
that renews the lease, reports progress and stops the run on cancel or lost lease.

Rules that keep a job's work (and the user's money) through failures (issue 21):
- The job runs as its owner (`ClaimJobResponse.owner`, see `owner.py`): a basic-login user's
  own Sentinel Hub token, never silently the backend's account.
- A store or MongoDB outage does not give the job away: failed renewals are retried every few
  seconds without stopping the run, and the store does not hand out expired leases right after an
  outage (store_svc/availability.py). Only an answer `lease_held=false` stops the run.
- Results, the completion manifest, job log lines and the final state are retried over
  `outage_seconds` with backoff. The manifest is written after the last upload; a later attempt
  of the same run completes from it without calling Sentinel Hub or uploading again.
- A transient infrastructure failure that outlasts the window gives the job back (`ReleaseJob`:
  another attempt, `error` only once none is left), it never ends the job in `error` directly.
- Messages users see never contain internal endpoints, buckets or object keys (`_Scrubber`);
  those details go to the service log.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import grpc

from backend_common.errors import OpenEOError, from_rpc_error
from backend_common.logging import get_logger
from backend_proto.v1 import common_pb2, compiler_pb2, store_pb2
from executor_svc.encoding import encode_result
from executor_svc.sentinelhub.spending import STOP_CODE, BudgetReached, SpendingLimit
from executor_svc.storage.s3 import S3Storage

from . import manifest, owner as owners
from .cpu_usage import PROCESS_CPU
from .job_log import JobLog
from .results import METADATA_NAME, build_results, extent_of, merge_extents, stac_metadata
from .retry import DependencyDown, is_transient, retry_for

log = get_logger(__name__)

INFRASTRUCTURE_MESSAGE = ("The job could not be completed because a service of the backend was unavailable "
                          "for too long ({what}). Please restart the job later.")


@dataclass(frozen=True)
class WorkerSettings:
    worker_id: str
    work_dir: str = tempfile.gettempdir()
    lease_seconds: int = 30
    renew_seconds: float = 10.0
    poll_seconds: float = 2.0
    #: attempts of each store/compiler/S3 call at least, even when the outage window has passed
    io_retries: int = 5
    retry_base_delay: float = 0.5
    #: how long calls to the store, the compiler and S3 are retried (backoff up to
    #: `retry_max_delay`) before the job is given back for another attempt
    outage_seconds: float = 600.0
    retry_max_delay: float = 15.0


class _State:
    def __init__(self):
        self.progress = 0.0
        #: results of the finished part while the job runs (`?partial=true`), sent with the lease renewal
        self.partial_results: store_pb2.JobResults | None = None
        self.stop_reason: str | None = None  # "canceled" | "lease_lost"


class _Scrubber:
    """Removes the S3 endpoint, bucket and object keys from text users will see."""

    def __init__(self, storage):
        config = getattr(storage, "config", None)
        words = []
        for value in (getattr(config, "endpoint_url", None), getattr(storage, "bucket", None)):
            if value:
                words.append(re.escape(value.rstrip("/")))
        endpoint = getattr(config, "endpoint_url", None)
        if endpoint:
            host = re.sub(r"^[a-z]+://", "", endpoint.rstrip("/"))
            words.append(re.escape(host))
        words.append(r"jobs/[^\s'\"),]+")
        self._pattern = re.compile("|".join(sorted(words, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        return self._pattern.sub("[internal]", text)


def _remove_payloads(files) -> None:
    for f in files:
        try:
            f.path.unlink()
        except FileNotFoundError:
            pass


def _is_transient_openeo(exc: OpenEOError) -> bool:
    """Sentinel Hub (or another upstream) temporarily unavailable: worth another attempt."""
    return exc.status == 503


class BatchWorker:
    def __init__(self, settings: WorkerSettings, store, compiler, runner, storage: S3Storage, pool: Executor):
        self.settings = settings
        self.store = store
        self.compiler = compiler
        self.runner = runner
        self.storage = storage
        self.pool = pool
        self.scrub = _Scrubber(storage)

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
        owner = owners.owner_of(response.owner, response.job)
        await self.process(response.job, response.lease_token, owner=owner, run_id=response.run_id)
        return True

    # ---- helpers ----

    def _retry(self, fn, what: str, public: str | None = None):
        s = self.settings
        return retry_for(fn, what=what, public=public, seconds=s.outage_seconds, min_attempts=s.io_retries,
                         base_delay=s.retry_base_delay, max_delay=s.retry_max_delay,
                         on_retry=lambda attempt, exc: log.warning("dependency_retry", what=what, attempt=attempt,
                                                                   error=str(exc)[:300]))

    # ---- one job ----

    async def process(self, job, lease_token: str, *, owner: common_pb2.User | None = None, run_id: str = "") -> str:
        """Runs one claimed job to its final state; returns that state (or "lease_lost",
        "released", "store_unavailable")."""
        owner = owner if owner is not None else common_pb2.User(user_id=job.user_id)
        started = time.monotonic()
        cpu = PROCESS_CPU.start()  # see cpu_usage.py for what it covers
        state = _State()
        job_log = JobLog(self.store, job.id, base_delay=self.settings.retry_base_delay,
                         max_delay=min(5.0, self.settings.retry_max_delay), scrub=self.scrub)
        log.info("job_claimed", job_id=job.id, attempt=job.attempts, worker_id=self.settings.worker_id,
                 auth_method=owner.auth_method or "none", own_account=bool(owner.sh_access_token))
        work = asyncio.create_task(self._execute(job, owner, run_id, state, job_log))
        heartbeat = asyncio.create_task(self._heartbeat(job, lease_token, state, work))
        flush_seconds = self.settings.outage_seconds
        try:
            try:
                await asyncio.wait({work})
            except asyncio.CancelledError:
                work.cancel()
                raise
            # what stopped the run is decided now; the heartbeat keeps the lease while the
            # logs and the final state are written
            stop_reason = state.stop_reason
            return await self._finish(job, lease_token, owner, work, stop_reason, job_log, started, cpu)
        except asyncio.CancelledError:
            flush_seconds = 2.0  # the executor is stopping: the lease expires, a later attempt goes on
            raise
        finally:
            cpu.stop()
            heartbeat.cancel()
            try:
                await heartbeat
            except asyncio.CancelledError:
                pass
            await job_log.close(timeout=flush_seconds)

    async def _finish(self, job, lease_token, owner, work, stop_reason, job_log: JobLog, started: float, cpu) -> str:
        usage = {"duration": {"value": round(time.monotonic() - started, 3), "unit": "seconds"}}
        cpu_seconds = cpu.stop()
        if cpu_seconds is not None:
            usage["cpu"] = cpu_seconds
        if stop_reason == "lease_lost":
            log.warning("job_lease_lost", job_id=job.id)
            return "lease_lost"
        if stop_reason == "canceled":
            job_log.add("info", "The job was canceled; partial results are removed.")
            try:
                await self.storage.delete_prefix(f"jobs/{job.id}/")
            except Exception as exc:  # noqa: BLE001
                log.warning("job_cancel_cleanup_failed", job_id=job.id, error=str(exc)[:200])
            return await self._complete(job, lease_token, "canceled", job_log, usage_json=json.dumps(usage))

        exc = work.exception()
        if exc is None:
            results, pu, *stopped = work.result()
            usage["sentinelhub"] = {"value": pu, "unit": "sentinelhub_processing_unit"}
            usage["storage"] = {"value": round(sum(a.size for a in results.assets) / 1e6, 6), "unit": "mb"}
            if stopped and stopped[0]:  # stopped before the request that would exceed the budget
                job_log.add("warning", stopped[0], {"processing_units": pu, "budget": job.budget}, code=STOP_CODE)
                return await self._complete(job, lease_token, "error", job_log, results=results,
                                            error_json=json.dumps({"code": STOP_CODE, "message": stopped[0]}),
                                            usage_json=json.dumps(usage), costs=pu)
            job_log.add("info", f"Job finished: {len([a for a in results.assets if 'data' in a.roles])} asset(s) "
                                "written.", {"processing_units": pu})
            return await self._complete(job, lease_token, "finished", job_log, results=results,
                                        usage_json=json.dumps(usage), costs=pu)
        refused = exc if isinstance(exc, owners.OwnerCredentialsRefused) else owners.refusal_of(exc, owner)
        if refused is not None:
            # final: a token cannot be refreshed without the owner, and no other account may pay
            log.warning("job_owner_credentials_refused", job_id=job.id, reason=str(exc)[:300])
            error = refused.error()
        elif isinstance(exc, DependencyDown) or (isinstance(exc, OpenEOError) and _is_transient_openeo(exc)):
            return await self._release(job, lease_token, exc, job_log)
        elif isinstance(exc, OpenEOError):
            error = {"code": exc.code, "message": self.scrub(exc.message)}
        else:
            log.error("job_internal_error", job_id=job.id, error=repr(exc)[:500])
            error = {"code": "Internal", "message": "Server error: the job failed unexpectedly."}
        job_log.add("error", error["message"], code=error["code"])
        # the graph's own failure pays what it spent; a failure of ours or of Sentinel Hub does not
        spent = exc.processing_units if isinstance(exc, OpenEOError) and exc.billable else 0.0
        if spent > 0:
            usage["sentinelhub"] = {"value": spent, "unit": "sentinelhub_processing_unit"}
        return await self._complete(job, lease_token, "error", job_log, error_json=json.dumps(error),
                                    usage_json=json.dumps(usage), costs=spent)

    async def _release(self, job, lease_token: str, exc: BaseException, job_log: JobLog) -> str:
        """Gives the job back for another attempt after a transient infrastructure failure."""
        log.error("job_dependency_down", job_id=job.id, error=str(exc)[:500])
        public = exc.public if isinstance(exc, DependencyDown) else self.scrub(getattr(exc, "message", ""))
        job_log.add("warning", f"This attempt stopped because a service was unavailable for too long ({public}); "
                               "the job will be retried.")
        error = {"code": "ServiceUnavailable", "message": INFRASTRUCTURE_MESSAGE.format(what=public)}
        await job_log.flush(self.settings.outage_seconds)
        request = store_pb2.ReleaseJobRequest(job_id=job.id, lease_token=lease_token, error_json=json.dumps(error))
        try:
            released = await self._retry(lambda: self.store.ReleaseJob(request), "releasing the job")
        except (grpc.aio.AioRpcError, DependencyDown) as err:
            # the lease expires and the store hands the job out again
            log.warning("job_release_failed", job_id=job.id, error=str(err)[:300])
            return "store_unavailable"
        log.info("job_released", job_id=job.id, status=released.status)
        return "released"

    async def _complete(self, job, lease_token: str, status: str, job_log: JobLog, **fields) -> str:
        # the log first: once a job shows its final state, its log is complete
        if not await job_log.flush(self.settings.outage_seconds):
            log.error("job_log_not_flushed_before_completion", job_id=job.id, waiting=job_log.pending)
        request = store_pb2.CompleteJobRequest(job_id=job.id, lease_token=lease_token, status=status, **fields)
        try:
            await self._retry(lambda: self.store.CompleteJob(request), "completing the job")
        except grpc.aio.AioRpcError as err:
            log.warning("job_complete_refused", job_id=job.id, status=status, code=err.code().name, details=err.details())
            return "lease_lost"
        except DependencyDown as err:
            # the lease expires and the store requeues the job; a finished run's manifest is reused
            log.error("job_complete_failed", job_id=job.id, status=status, error=str(err))
            return "store_unavailable"
        log.info("job_completed", job_id=job.id, status=status)
        return status

    async def _heartbeat(self, job, lease_token: str, state: _State, work: asyncio.Task) -> None:
        """Renews the lease every `renew_seconds`. While the store is unreachable the run goes
        on and renewals are retried every few seconds (the store does not hand out leases that
        expired during its outage); only the store's answer that the lease is gone stops it."""
        s = self.settings
        failing_since: float | None = None
        delay = s.renew_seconds
        while True:
            await asyncio.sleep(delay)
            try:
                response = await self.store.RenewLease(
                    store_pb2.RenewLeaseRequest(job_id=job.id, lease_token=lease_token,
                                                lease_seconds=s.lease_seconds, progress=state.progress,
                                                partial_results=state.partial_results)
                )
            except grpc.aio.AioRpcError as err:
                if is_transient(err):
                    if failing_since is None:
                        failing_since = time.monotonic()
                    log.warning("lease_renew_failed", job_id=job.id, code=err.code().name,
                                failing_s=round(time.monotonic() - failing_since, 1))
                    delay = min(s.renew_seconds, 2.0)
                    continue
                log.warning("lease_renew_refused", job_id=job.id, code=err.code().name)
                self._stop(state, "lease_lost", work)
                return
            if failing_since is not None:
                log.info("lease_renew_recovered", job_id=job.id, after_s=round(time.monotonic() - failing_since, 1))
                failing_since = None
            delay = s.renew_seconds
            if not response.lease_held:
                self._stop(state, "lease_lost", work)
                return
            if response.cancel_requested:
                self._stop(state, "canceled", work)
                return

    @staticmethod
    def _stop(state: _State, reason: str, work: asyncio.Task) -> None:
        if not work.done():
            state.stop_reason = reason
            work.cancel()

    async def _seal(self, job, run_id: str, state: _State, files: list, extent, total_pu: float):
        """The STAC metadata and the completion manifest after the last upload: (results, PUs)."""
        prefix = f"jobs/{job.id}/"
        draft = build_results(job.id, files, extent)
        metadata = stac_metadata(job, draft, total_pu)
        metadata_key = prefix + METADATA_NAME
        await self._retry(lambda: self.storage.put_bytes(metadata_key, metadata, "application/json"),
                          "uploading the STAC metadata", "the result storage")
        log.info("result_object_written", job_id=job.id, key=metadata_key, size=len(metadata))
        results = build_results(job.id, files, extent, metadata_key=metadata_key, metadata_size=len(metadata))
        # written last: from here on, the run's results are complete and are never paid again
        record = manifest.encode(run_id, results, total_pu, job.attempts)
        await self._retry(lambda: self.storage.put_bytes(manifest.manifest_key(job.id), record, "application/json"),
                          "writing the completion manifest", "the result storage")
        state.progress = 100.0
        return results, total_pu

    async def _execute_on_batch_api(self, job, owner, run_id: str, plan, state: _State, job_log: JobLog):
        """The load on Sentinel Hub's Batch Processing API, the rest per delivered tile (`batch_engine`)."""
        from executor_svc.batch_engine.engine import BatchApiRun
        from executor_svc.batch_engine.request import DeliveryTarget

        config = self.storage.config
        target = DeliveryTarget(self.storage.bucket if hasattr(self.storage, "bucket") else config.bucket,
                                config.access_key or "", config.secret_key or "", config.region or None)
        tmp = Path(tempfile.mkdtemp(prefix=f"job-{job.id}-", dir=self.settings.work_dir))

        async def upload(key: str, path, media_type: str) -> None:
            await self._retry(lambda: self.storage.upload_file(key, path, media_type), f"uploading {key}",
                              "the result storage")
            log.info("result_object_written", job_id=job.id, key=key)

        def on_tile(outcome) -> None:
            state.partial_results = build_results(job.id, outcome.files, merge_extents(outcome.extents))

        def on_progress(value: float) -> None:
            state.progress = max(state.progress, value)

        run = BatchApiRun(plan, job.id, owner, self.runner, self.storage, self.pool, target, tmp,
                          lambda level, message, data=None: job_log.add(level, message, data),
                          upload, on_progress, on_tile, description=job.title)
        try:
            outcome, pu = await run.run()
            return await self._seal(job, run_id, state, outcome.files, merge_extents(outcome.extents), pu)
        finally:
            await asyncio.get_running_loop().run_in_executor(self.pool, shutil.rmtree, tmp, True)

    async def _execute(self, job, owner: common_pb2.User, run_id: str, state: _State, job_log: JobLog):
        s = self.settings
        job_log.add("info", f"Job started (attempt {job.attempts or 1}) by worker {s.worker_id}.")
        prefix = f"jobs/{job.id}/"

        # complete results of this run cost nothing more, whatever the state of the owner's login
        reused = await self._retry(lambda: manifest.read(self.storage, job.id, run_id),
                                   "reading the completion manifest", "reading earlier results")
        if reused is not None:
            results, pu = reused
            job_log.add("info", "An earlier attempt of this run had already written all results; they are kept "
                                "(no new Sentinel Hub requests).")
            log.info("job_results_reused", job_id=job.id, run_id=run_id, assets=len(results.assets))
            state.progress = 100.0
            return results, pu
        owners.check_before_run(owner)

        job_log.add("info", owners.account_note(owner))
        # the compiler needs no Sentinel Hub token: it gets the owner's id only
        compile_user = common_pb2.User(user_id=owner.user_id, auth_method=owner.auth_method)

        async def compile_():
            try:
                return await self.compiler.Compile(
                    compiler_pb2.CompileRequest(user=compile_user, process_json=job.process_json,
                                                purpose=compiler_pb2.PURPOSE_BATCH)
                )
            except grpc.aio.AioRpcError as err:
                if is_transient(err):
                    raise
                raise from_rpc_error(err) from None

        plan = await self._retry(compile_, "compiling the process graph", "the process graph compiler")
        state.progress = 5.0
        removed = await self._retry(lambda: self.storage.delete_prefix(prefix), "clearing previous results",
                                    "the result storage")
        if removed:
            job_log.add("info", f"Removed {removed} object(s) left by an earlier, unfinished attempt.")
        statistical = (f" and {len(plan.statistical_aggregations)} aggregation(s) from Sentinel Hub's Statistical API"
                       if plan.statistical_aggregations else "")
        job_log.add("info", f"Fetching {len(plan.loads)} Sentinel Hub load(s){statistical}.",
                    {"estimated_processing_units": plan.estimated_processing_units,
                     "estimated_pixels": plan.estimated_pixels})

        if plan.HasField("batch_api"):
            return await self._execute_on_batch_api(job, owner, run_id, plan, state, job_log)

        # one run: a large cube is chunked by the dask engine (`dask_engine.py`), fetched tile by
        # tile and encoded chunk by chunk, so memory does not grow with the area
        loop = asyncio.get_running_loop()
        tmp = Path(tempfile.mkdtemp(prefix=f"job-{job.id}-", dir=s.work_dir))
        spending = SpendingLimit(job.budget) if job.budget > 0 else None

        def on_progress(value: float) -> None:
            state.progress = max(state.progress, 5.0 + 0.85 * value)

        def encode(value, output, options):
            return encode_result(value, output, dict(options), tmp / "result")

        try:
            try:
                # encoded in the run: a chunked cube's process errors surface while its chunks are
                # computed, and become the run's openEO errors (with what it spent)
                outcome = await self.runner.run(plan, owner, on_progress=on_progress, extra={"job_id": job.id},
                                                finish=encode, spending=spending)
            except BudgetReached as stop:  # nothing written: a restart runs the whole job
                return store_pb2.JobResults(), stop.processing_units, stop.message
            for record in outcome.inspections:
                job_log.add(record.get("level", "info"), str(record.get("message", "")),
                            {"data": record.get("data")} if record.get("data") is not None else None,
                            code=str(record.get("code") or ""))
            files = outcome.finished
            extent = extent_of(outcome.value)
            total_pu = outcome.processing_units
            del outcome  # the cubes are not needed for the upload
            state.progress = max(state.progress, 92.0)
            for f in files:
                key = prefix + f.name
                await self._retry(lambda f=f, key=key: self.storage.upload_file(key, f.path, f.media_type),
                                  f"uploading {key}", "the result storage")
                log.info("result_object_written", job_id=job.id, key=key, size=f.size)
            await loop.run_in_executor(self.pool, _remove_payloads, files)
            return await self._seal(job, run_id, state, files, merge_extents([extent]), total_pu)
        finally:
            await loop.run_in_executor(self.pool, shutil.rmtree, tmp, True)
