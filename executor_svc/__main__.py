"""python -m executor_svc: the executor's gRPC service plus its batch worker loops."""

from __future__ import annotations

import asyncio

from backend_common.grpc_server import serve
from backend_common.logging import configure_logging

from .app import ExecutorApp
from .config import ExecutorConfig


async def amain(config: ExecutorConfig) -> None:
    app = ExecutorApp(config)  # inside the loop: gRPC channels bind to the running loop
    await serve("executor", config.listen, app.register, on_start=app.on_start, on_stop=app.on_stop)


def main() -> None:
    config = ExecutorConfig.from_env()
    configure_logging("executor", config.log_level)
    asyncio.run(amain(config))


if __name__ == "__main__":
    main()
