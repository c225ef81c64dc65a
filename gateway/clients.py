"""gRPC stubs of the services behind the gateway (one channel per service, opened at startup)."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from backend_common.grpc_client import channel_for
from backend_proto.v1 import (
    compiler_pb2,
    compiler_pb2_grpc,
    executor_pb2,
    executor_pb2_grpc,
    store_pb2,
    store_pb2_grpc,
    tiles_pb2,
    tiles_pb2_grpc,
)

SERVICES = ("compiler", "executor", "tiles", "store")
#: The gRPC health service name /readyz asks each service about: the named service, which a
#: service reports NOT_SERVING while a dependency is down (the store: MongoDB), not "" (process up).
HEALTH_SERVICES = {
    "compiler": compiler_pb2.DESCRIPTOR.services_by_name["CompilerService"].full_name,
    "executor": executor_pb2.DESCRIPTOR.services_by_name["ExecutorService"].full_name,
    "tiles": tiles_pb2.DESCRIPTOR.services_by_name["TilesService"].full_name,
    "store": store_pb2.DESCRIPTOR.services_by_name["StoreService"].full_name,
}


class Clients:
    """Holds the channels and stubs; create inside the running event loop."""

    def __init__(self) -> None:
        self.channels: dict[str, grpc.aio.Channel] = {name: channel_for(name) for name in SERVICES}
        self.compiler = compiler_pb2_grpc.CompilerServiceStub(self.channels["compiler"])
        self.executor = executor_pb2_grpc.ExecutorServiceStub(self.channels["executor"])
        self.tiles = tiles_pb2_grpc.TilesServiceStub(self.channels["tiles"])
        self.store = store_pb2_grpc.StoreServiceStub(self.channels["store"])

    async def health(self, services, timeout: float) -> dict[str, str]:
        """gRPC health status ("SERVING", "NOT_SERVING", "UNAVAILABLE", ...) of each service."""

        async def check(name: str) -> str:
            stub = health_pb2_grpc.HealthStub(self.channels[name])
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=HEALTH_SERVICES[name]), timeout=timeout)
            except grpc.RpcError as err:
                return err.code().name if hasattr(err, "code") else "UNAVAILABLE"
            return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

        names = list(services)
        results = await asyncio.gather(*(check(n) for n in names))
        return dict(zip(names, results))

    async def close(self) -> None:
        await asyncio.gather(*(ch.close() for ch in self.channels.values()), return_exceptions=True)
