"""`load_result`: the results of one of the calling user's finished batch jobs as a raster cube.

The job is looked up in the store with the calling user (another user's job is `JobNotFound`),
must be `finished` (`JobNotFinished` otherwise); its GeoTIFF assets (only those whose date falls
into `temporal_extent` when the date is known beforehand) are downloaded from S3 into a temporary
folder of the work dir, read and filtered in the CPU pool (`loading.result_files`), and the folder is
removed again. The compiler has already resolved a results URL of this back-end to its job id.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from concurrent.futures import Executor
from typing import Any

import grpc

from backend_common.errors import OpenEOError, from_rpc_error
from backend_common.logging import get_logger
from backend_proto.v1 import store_pb2

from .result_files import assets_in_interval, cube_from_result_files, raster_assets

log = get_logger(__name__)

#: what a job id may be: it names the job's S3 prefix, so nothing that could leave it
JOB_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")


def checked_job_id(value: Any) -> str:
    """`value` when it is a job id (JobNotFound otherwise); a `load_result` computed inside the
    graph cannot give a URL (only the compiler resolves those, from fixed arguments)."""
    if not isinstance(value, str) or not value:
        raise OpenEOError("ProcessParameterInvalid", "load_result: 'id' must be a batch job id.", 400)
    if not JOB_ID.fullmatch(value) or value in (".", ".."):
        raise OpenEOError("JobNotFound", "The batch job does not exist.", 404)
    return value


async def fetch_job(store, user, job_id: str):
    """The caller's job from store_svc (JobNotFound for anyone else's), errors as openEO errors."""
    if store is None:
        raise OpenEOError("ServiceUnavailable", "The job store is not configured.", 503)
    try:
        return await store.GetJob(store_pb2.JobRef(user=user, job_id=job_id))
    except grpc.aio.AioRpcError as err:
        raise from_rpc_error(err) from None


class JobResultLoader:
    """Loads batch job results as cubes (one shared instance per executor process)."""

    def __init__(self, store, storage, pool: Executor, work_dir: str, *, max_concurrent_downloads: int = 4):
        self.store = store
        self.storage = storage
        self.pool = pool
        self.work_dir = work_dir
        self.max_concurrent_downloads = max_concurrent_downloads

    async def job(self, user, job_id: str):
        return await fetch_job(self.store, user, job_id)

    async def load(self, user, id: Any, *, spatial_extent: Any = None, temporal_extent: Any = None,
                   bands: list | None = None):
        job_id = checked_job_id(id)
        job = await self.job(user, job_id)
        if job.status != "finished":
            raise OpenEOError(
                "JobNotFinished",
                f"Batch job {job_id!r} has not finished computing the results yet (status: {job.status}).",
                400,
            )
        assets = raster_assets(job.results, job_id)
        if not assets:
            raise OpenEOError(
                "ProcessParameterInvalid",
                f"load_result: batch job {job_id!r} has no GeoTIFF results to load (only GTiff results can be loaded).",
                400,
            )
        selected = assets_in_interval(assets, temporal_extent)
        if not selected:  # keep the dates' structure: read one file, the temporal filter empties it
            selected = assets[:1]
        if self.storage is None:
            raise OpenEOError("ServiceUnavailable", "The result storage is not available.", 503)
        loop = asyncio.get_running_loop()
        os.makedirs(self.work_dir, exist_ok=True)
        tmp = await loop.run_in_executor(self.pool, lambda: tempfile.mkdtemp(prefix=f"load-result-{job_id}-", dir=self.work_dir))
        try:
            semaphore = asyncio.Semaphore(self.max_concurrent_downloads)

            async def download(index: int, asset) -> tuple[str, str | None]:
                path = os.path.join(tmp, f"{index:05d}.tif")
                async with semaphore:
                    try:
                        await self.storage.download_file(asset.key, path)
                    except Exception as exc:  # noqa: BLE001 - a missing object or S3 failure
                        from executor_svc.storage.s3 import ObjectNotFound

                        if isinstance(exc, ObjectNotFound):
                            raise OpenEOError("NoDataAvailable",
                                              f"load_result: the results of batch job {job_id!r} are no longer available.",
                                              400) from None
                        raise
                return path, asset.datetime

            files = list(await asyncio.gather(*(download(i, a) for i, a in enumerate(selected))))
            band_metadata = next((a.eo_bands for a in selected if a.eo_bands), None)
            cube = await loop.run_in_executor(
                self.pool,
                lambda: cube_from_result_files(files, job_id=job_id, spatial_extent=spatial_extent,
                                               temporal_extent=temporal_extent, bands=bands,
                                               band_metadata=band_metadata),
            )
        finally:
            await loop.run_in_executor(self.pool, shutil.rmtree, tmp, True)
        log.info("load_result_loaded", job_id=job_id, files=len(selected), dims=dict(cube.sizes))
        return cube
