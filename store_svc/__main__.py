"""python -m store_svc: the store gRPC service (STORE_LISTEN, MONGODB_URI, MONGODB_DB,
JOB_MAX_ATTEMPTS, MONGODB_TIMEOUT_MS, LOG_LEVEL)."""

from __future__ import annotations

import asyncio

from backend_common.logging import configure_logging
from store_svc.app import run
from store_svc.config import StoreConfig


def main() -> None:
    config = StoreConfig.from_env()
    configure_logging("store", config.log_level)
    asyncio.run(run(config))


if __name__ == "__main__":
    main()
