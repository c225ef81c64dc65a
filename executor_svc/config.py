"""Executor settings, read from the environment once at start (the variables are in the README's
configuration table): the executor's own, its Sentinel Hub client's and its S3 storage's."""

from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import dataclass

from backend_common.config import env_float, env_int, env_str, service_listen
from executor_svc.dask_engine import DaskSettings
from executor_svc.sentinelhub.config import ClientConfig
from executor_svc.processes.limits import RunLimits
from executor_svc.storage.s3 import S3Config


@dataclass(frozen=True)
class ExecutorConfig:
    listen: str
    workers: int
    worker_id: str
    work_dir: str
    cpu_threads: int
    lease_seconds: int
    renew_seconds: float
    poll_seconds: float
    io_retries: int
    #: how long a batch job's store/compiler/S3 calls are retried before it is given back
    outage_seconds: float
    retry_max_delay: float
    max_concurrent_loads: int
    log_level: str
    sentinelhub: ClientConfig
    s3: S3Config
    #: what one run may build and how long a synchronous one may take (processes/limits.py)
    limits: RunLimits
    sync_max_seconds: float
    #: the dask engine of large cube runs (dask_engine.py)
    dask: DaskSettings = DaskSettings()

    @classmethod
    def from_env(cls) -> "ExecutorConfig":
        return cls(
            listen=service_listen("executor"),
            workers=env_int("EXECUTOR_WORKERS", 2),
            worker_id=env_str("EXECUTOR_WORKER_ID", f"{socket.gethostname()}-{os.getpid()}"),
            work_dir=env_str("EXECUTOR_WORK_DIR", tempfile.gettempdir()),
            cpu_threads=env_int("EXECUTOR_CPU_THREADS", min(8, os.cpu_count() or 2)),
            lease_seconds=env_int("EXECUTOR_LEASE_SECONDS", 30),
            renew_seconds=env_float("EXECUTOR_RENEW_SECONDS", 10.0),
            poll_seconds=env_float("EXECUTOR_POLL_SECONDS", 2.0),
            io_retries=env_int("EXECUTOR_IO_RETRIES", 5),
            outage_seconds=env_float("EXECUTOR_OUTAGE_SECONDS", 600.0),
            retry_max_delay=env_float("EXECUTOR_RETRY_MAX_DELAY_SECONDS", 15.0),
            max_concurrent_loads=env_int("EXECUTOR_MAX_CONCURRENT_LOADS", 4),
            log_level=env_str("LOG_LEVEL", "info"),
            sentinelhub=ClientConfig.from_env(),
            s3=S3Config.from_env(),
            limits=RunLimits(
                max_array_elements=env_int("MAX_ARRAY_ELEMENTS", RunLimits.max_array_elements),
                max_result_bytes=env_int("EXECUTOR_MAX_RESULT_BYTES", RunLimits.max_result_bytes),
                max_kernel_elements=env_int("MAX_KERNEL_ELEMENTS", RunLimits.max_kernel_elements),
                max_kernel_operations=env_float("EXECUTOR_MAX_KERNEL_OPERATIONS", RunLimits.max_kernel_operations),
            ),
            sync_max_seconds=env_float("SYNC_MAX_SECONDS", 300.0),
            dask=DaskSettings(
                threads=env_int("DASK_THREADS", min(8, os.cpu_count() or 2)),
                scheduler_address=env_str("DASK_SCHEDULER_ADDRESS", ""),
                chunk_px=env_int("DASK_CHUNK_PX", DaskSettings.chunk_px),
                min_values=env_int("DASK_MIN_VALUES", DaskSettings.min_values),
            ),
        )
