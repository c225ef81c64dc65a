"""python -m compiler_svc: serves CompilerService on COMPILER_LISTEN."""

from __future__ import annotations

import asyncio

from backend_common.grpc_client import channel_for
from backend_common.grpc_server import serve
from backend_common.logging import configure_logging
from backend_proto.v1 import store_pb2_grpc
from compiler_svc import process_specs
from compiler_svc.collections.catalogue import catalogue
from compiler_svc.config import CompilerConfig
from compiler_svc.servicer import register


async def main() -> None:
    config = CompilerConfig.from_env()
    configure_logging("compiler_svc", config.log_level)
    process_specs.supported_definitions()  # fail fast when the definitions are missing
    catalogue()
    channel = channel_for("store")
    stub = store_pb2_grpc.StoreServiceStub(channel)

    async def on_stop():
        await channel.close()

    await serve("compiler_svc", config.listen, lambda server: register(server, stub, config.planning), on_stop=on_stop)


if __name__ == "__main__":
    asyncio.run(main())
