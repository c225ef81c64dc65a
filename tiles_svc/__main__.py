"""python -m tiles_svc: the XYZ tile service."""

from __future__ import annotations

import asyncio

from backend_common.grpc_client import channel_for
from backend_common.grpc_server import serve
from backend_common.logging import configure_logging
from backend_proto.v1 import tiles_pb2, tiles_pb2_grpc
from tiles_svc.cache import TileCache
from tiles_svc.config import TilesConfig
from tiles_svc.servicer import TilesServicer


async def main() -> None:
    config = TilesConfig.from_env()
    configure_logging("tiles", config.log_level)
    channels = {name: channel_for(name) for name in ("store", "compiler", "executor")}
    servicer = TilesServicer(
        channels,
        TileCache(config.cache_size),
        max_age=config.max_age_seconds,
        service_ttl=config.service_ttl_seconds,
        spending_interval=config.spending_flush_seconds,
    )

    def register(server):
        tiles_pb2_grpc.add_TilesServiceServicer_to_server(servicer, server)
        return [tiles_pb2.DESCRIPTOR.services_by_name["TilesService"].full_name]

    async def close():
        await servicer.close()  # the tiles' processing units are sent before the channels close
        for channel in channels.values():
            await channel.close()

    await serve("tiles", config.listen, register, on_stop=close)


if __name__ == "__main__":
    asyncio.run(main())
