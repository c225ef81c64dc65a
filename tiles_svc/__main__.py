"""python -m tiles_svc: the XYZ tile service."""

from __future__ import annotations

import asyncio

from backend_common.config import env_float, env_int, env_str, service_listen
from backend_common.grpc_client import channel_for
from backend_common.grpc_server import serve
from backend_common.logging import configure_logging
from backend_proto.v1 import tiles_pb2, tiles_pb2_grpc
from tiles_svc.cache import TileCache
from tiles_svc.service import TilesServicer


async def main() -> None:
    configure_logging("tiles", env_str("LOG_LEVEL", "info"))
    channels = {name: channel_for(name) for name in ("store", "compiler", "executor")}
    servicer = TilesServicer(
        channels,
        TileCache(env_int("TILE_CACHE_SIZE", 4096)),
        max_age=env_int("TILE_MAX_AGE_SECONDS", 300),
        service_ttl=env_float("TILES_SERVICE_TTL_SECONDS", 2.0),
    )

    def register(server):
        tiles_pb2_grpc.add_TilesServiceServicer_to_server(servicer, server)
        return [tiles_pb2.DESCRIPTOR.services_by_name["TilesService"].full_name]

    async def close():
        for channel in channels.values():
            await channel.close()

    await serve("tiles", service_listen("tiles"), register, on_stop=close)


if __name__ == "__main__":
    asyncio.run(main())
