"""The ExecutorService gRPC servicer: Execute (sync processing), ReadJobAsset, DeleteJobResults."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import shutil
import tempfile
from concurrent.futures import Executor

from backend_common.errors import OpenEOError
from backend_common.logging import get_logger
from backend_proto.v1 import common_pb2, compiler_pb2, executor_pb2, executor_pb2_grpc

from .batch.results import asset_of
from .costs.estimate import estimate_plan
from .batch_engine.request import tiles_prefix as batch_tiles_prefix
from .encoding import bundle, encode_result
from .loading.job_results import JOB_ID, fetch_job
from .runner import PlanRunner
from .storage.s3 import ObjectNotFound, S3Storage, read_file_chunks

log = get_logger(__name__)

CHUNK_SIZE = 1024 * 1024


def job_prefix(job_id: str) -> str:
    """The S3 prefix of a job's results (JobNotFound for anything that is not a job id)."""
    if not JOB_ID.fullmatch(job_id or "") or job_id in (".", ".."):
        raise OpenEOError("JobNotFound", "The batch job does not exist.", 404)
    return f"jobs/{job_id}/"


# Results up to this size are read back into memory in the same worker-thread call that encodes
# them (one thread hand-off per request, no streaming from disk); larger ones stream from disk.
INLINE_LIMIT = 8 * 1024 * 1024


def encode_for_sync(value, output, options: dict, work_dir: str):
    """Encodes a sync result (CPU; run in the pool): (tmp dir or None, file, bytes or None).

    A small result comes back as bytes with its temporary directory already removed; a large one
    stays on disk in `tmp` for streaming (the caller removes `tmp`).
    """
    tmp = tempfile.mkdtemp(prefix="execute-", dir=work_dir)
    try:
        files = encode_result(value, output, options, tmp, metadata=False)
        final = bundle(files, tmp)
        if final.size > INLINE_LIMIT:
            return tmp, final, None
        with open(final.path, "rb") as handle:
            data = handle.read()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    return None, final, data


async def _chunks_of(data: bytes):
    for offset in range(0, len(data), CHUNK_SIZE):
        yield data[offset : offset + CHUNK_SIZE]


async def _data_chunks(pieces, *, content_type: str, filename: str, processing_units: float = 0.0, total_size: int = 0):
    """DataChunks of a file's byte pieces: the file's headers ride on the first chunk (or on one
    empty chunk for an empty file)."""
    first = True
    async for piece in pieces:
        if first:
            first = False
            yield common_pb2.DataChunk(data=piece, content_type=content_type, filename=filename,
                                       processing_units=processing_units, total_size=total_size)
        else:
            yield common_pb2.DataChunk(data=piece)
    if first:
        yield common_pb2.DataChunk(content_type=content_type, filename=filename, processing_units=processing_units)


def _image_chunks(image):
    """DataChunks of a result made in memory by a fast path (`fast_paths.image.ResultFile`)."""
    return _data_chunks(_chunks_of(image.data), content_type=image.media_type, filename=image.filename,
                        processing_units=image.processing_units, total_size=len(image.data))


def requested_bytes(ref, size: int) -> tuple[int, int]:
    """(offset, length) of the bytes of an object of `size` bytes that a `JobAssetRef` asks for,
    kept inside the object; length 0 when nothing is left (a range starting at or past the end)."""
    if ref.suffix_length > 0:
        length = min(ref.suffix_length, size)
        return size - length, length
    offset = max(ref.offset, 0)
    if offset >= size:
        return offset, 0
    rest = size - offset
    return offset, min(ref.length, rest) if ref.length > 0 else rest


def _fallback_etag(key: str, info) -> str:
    """An entity tag for stores that send none: changes with the object's size or modification."""
    stamp = info.last_modified.timestamp() if info.last_modified else 0
    digest = hashlib.sha256(f"{key}\n{info.size}\n{stamp}".encode()).hexdigest()[:32]
    return f'"{digest}"'


class ExecutorServicer(executor_pb2_grpc.ExecutorServiceServicer):
    def __init__(self, runner: PlanRunner, storage: S3Storage | None, store_stub, pool: Executor, work_dir: str,
                 *, sync_max_seconds: float | None = None):
        self.runner = runner
        self.storage = storage
        self.store = store_stub
        self.pool = pool
        self.work_dir = work_dir
        #: Evaluation time a synchronous request may take (None: unlimited).
        self.sync_max_seconds = sync_max_seconds

    async def Execute(self, request, context):
        loop = asyncio.get_running_loop()
        plan = request.plan
        if not plan.loads and not plan.graph_json:
            raise OpenEOError("ProcessGraphInvalid", "The execution plan is empty.", 400)
        image, fetched = await self.runner.run_fast_path(plan, request.user)
        if image is not None:
            if plan.strategy == compiler_pb2.RESULT_STRATEGY_IMAGE:
                log.info("execute_result", format=plan.output.format, filename=image.filename, size=len(image.data),
                         processing_units=image.processing_units, fast_path=True)
            async for chunk in _image_chunks(image):
                yield chunk
            return
        # the encoder runs in the same CPU-pool call as the graph evaluation; when the caller goes
        # away, gRPC cancels this handler and the runner stops the evaluation at its next node
        budget = self.runner.budget(max_seconds=self.sync_max_seconds)
        try:
            outcome = await self.runner.run(plan, request.user, finish=functools.partial(encode_for_sync, work_dir=self.work_dir),
                                            prefetched=[fetched] if fetched is not None else None, budget=budget)
        except asyncio.CancelledError:
            log.info("execute_cancelled", reason="the caller cancelled the request")
            raise
        tmp, final, data = outcome.finished
        try:
            log.info(
                "execute_result",
                format=outcome.output.format,
                filename=final.name,
                size=final.size,
                processing_units=outcome.processing_units,
                **outcome.timings,
            )
            chunks = _chunks_of(data) if data is not None else read_file_chunks(final.path, CHUNK_SIZE)
            async for chunk in _data_chunks(chunks, content_type=final.media_type, filename=final.name,
                                            processing_units=outcome.processing_units, total_size=final.size):
                yield chunk
        finally:
            if tmp is not None:
                await loop.run_in_executor(self.pool, shutil.rmtree, tmp, True)

    async def EstimateCosts(self, request, context):
        token = request.user.sh_access_token or None
        estimate = await estimate_plan(request.plan, self.runner.sh, token=token,
                                       batch_job=request.batch_job)
        return executor_pb2.CostEstimate(processing_units=estimate.processing_units, requests=estimate.requests,
                                         exact=estimate.exact, reason=estimate.reason)

    async def _job(self, user, job_id: str):
        job_prefix(job_id)
        return await fetch_job(self.store, user, job_id)

    def _storage(self) -> S3Storage:
        if self.storage is None:
            raise OpenEOError("ServiceUnavailable", "The result storage is not available.", 503)
        return self.storage

    async def ReadJobAsset(self, request, context):
        job = await self._job(request.user, request.job_id)
        entry = asset_of(job.results, request.asset, request.job_id)
        storage = self._storage()
        key = entry.key
        info = await storage.head(key)
        if info is None:
            raise OpenEOError("AssetNotFound", f"The result asset {request.asset!r} is no longer available.", 404)
        offset, length = requested_bytes(request, info.size)
        first = common_pb2.DataChunk(
            content_type=entry.media_type or info.content_type or "application/octet-stream",
            filename=key.rsplit("/", 1)[-1],
            total_size=info.size,
            etag=info.etag or _fallback_etag(key, info),
            last_modified=info.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ") if info.last_modified else "",
            range_offset=offset,
            range_length=length,
        )
        if request.metadata_only or length == 0:
            yield first
            return
        # a ranged GetObject for a part of the object: S3 sends only those bytes
        pieces = storage.download_stream(key, CHUNK_SIZE, offset=offset,
                                         length=None if offset + length == info.size else length)
        sent = 0
        try:
            async for piece in pieces:
                piece = piece[: length - sent]  # never more than HEAD promised, should the object grow
                if not piece:
                    break
                if first is not None:
                    first.data = piece
                    yield first
                    first = None
                else:
                    yield common_pb2.DataChunk(data=piece)
                sent += len(piece)
        except ObjectNotFound:
            raise OpenEOError("AssetNotFound", f"The result asset {request.asset!r} is no longer available.", 404) from None
        if sent != length:  # the object changed under us: a short stream must not look complete
            raise OpenEOError("Internal", "The result asset changed while it was read.", 500)

    async def DeleteJobResults(self, request, context):
        prefix = job_prefix(request.job_id)
        await self._job(request.user, request.job_id)
        deleted = await self._storage().delete_prefix(prefix)
        # the tiles Sentinel Hub's Batch API delivered for the job (kept across its runs)
        deleted += await self._storage().delete_prefix(batch_tiles_prefix(request.job_id))
        log.info("job_results_deleted", job_id=request.job_id, objects=deleted)
        return common_pb2.Empty()
