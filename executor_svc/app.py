"""Wiring: the shared clients (Sentinel Hub, S3, store, compiler), the gRPC servicer and the batch
worker loops of one executor process."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from backend_common.grpc_client import channel_for
from backend_common.logging import get_logger
from backend_proto.v1 import compiler_pb2_grpc, executor_pb2, executor_pb2_grpc, store_pb2_grpc

from .batch import BatchWorker, WorkerSettings
from .config import ExecutorConfig
from .dask_engine import DaskEngine
from .loading.job_results import JobResultLoader
from .runner import PlanRunner
from .servicer import ExecutorServicer
from .storage.s3 import S3Storage

log = get_logger(__name__)


class ExecutorApp:
    def __init__(self, config: ExecutorConfig):
        self.config = config
        self.pool = ThreadPoolExecutor(max_workers=config.cpu_threads, thread_name_prefix="executor-cpu")
        self.sh = None
        self.storage = S3Storage(config.s3)
        self.store_channel = channel_for("store")
        self.compiler_channel = channel_for("compiler")
        self.store = store_pb2_grpc.StoreServiceStub(self.store_channel)
        self.compiler = compiler_pb2_grpc.CompilerServiceStub(self.compiler_channel)
        self.engine = DaskEngine(config.dask, config.work_dir)
        self.runner: PlanRunner | None = None
        self.servicer: ExecutorServicer | None = None
        self._stop = asyncio.Event()
        self._workers: list[asyncio.Task] = []

    def register(self, server) -> list[str]:
        from executor_svc.sentinelhub import SentinelHubClient

        self.sh = SentinelHubClient(self.config.sentinelhub, executor=self.pool)
        results = JobResultLoader(self.store, self.storage, self.pool, self.config.work_dir)
        self.runner = PlanRunner(self.sh, self.pool, max_concurrent_loads=self.config.max_concurrent_loads, results=results,
                                 limits=self.config.limits, storage=self.storage, engine=self.engine)
        self.servicer = ExecutorServicer(self.runner, self.storage, self.store, self.pool, self.config.work_dir,
                                         sync_max_seconds=self.config.sync_max_seconds or None)
        executor_pb2_grpc.add_ExecutorServiceServicer_to_server(self.servicer, server)
        return [executor_pb2.DESCRIPTOR.services_by_name["ExecutorService"].full_name]

    async def on_start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.engine.start)
        await self.sh.start()
        await self.storage.start()
        try:
            await self.storage.ensure_bucket()
        except Exception as exc:  # noqa: BLE001 - S3 may come up later; sync requests do not need it
            log.warning("s3_unavailable_at_start", error=str(exc)[:200])
        for i in range(self.config.workers):
            settings = WorkerSettings(
                worker_id=f"{self.config.worker_id}-{i}",
                work_dir=self.config.work_dir,
                lease_seconds=self.config.lease_seconds,
                renew_seconds=self.config.renew_seconds,
                poll_seconds=self.config.poll_seconds,
                io_retries=self.config.io_retries,
                outage_seconds=self.config.outage_seconds,
                retry_max_delay=self.config.retry_max_delay,
            )
            worker = BatchWorker(settings, self.store, self.compiler, self.runner, self.storage, self.pool)
            self._workers.append(asyncio.create_task(worker.run(self._stop), name=settings.worker_id))

    async def on_stop(self) -> None:
        self._stop.set()
        if self._workers:
            done, pending = await asyncio.wait(self._workers, timeout=30)
            for task in pending:  # their leases expire and the store requeues the jobs
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.sh.close()
        await self.storage.close()
        await self.store_channel.close()
        await self.compiler_channel.close()
        await asyncio.get_running_loop().run_in_executor(None, self.engine.close)
        self.pool.shutdown(wait=False)
