"""Wiring: database connection, index creation (retried in the background until the database
answers, so the service starts even while MongoDB is still coming up) and the gRPC server, whose
health status is SERVING only while MongoDB answers (`database_reachable`)."""

from __future__ import annotations

import asyncio

from pymongo.errors import PyMongoError

from backend_common.grpc_server import serve
from backend_common.logging import get_logger
from backend_proto.v1 import store_pb2_grpc
from store_svc.config import StoreConfig
from store_svc.database import Database, connect
from store_svc.indexes import ensure_indexes
from store_svc.servicer import SERVICE_NAME, StoreServicer

log = get_logger(__name__)

INDEX_RETRY_SECONDS = 2.0


async def keep_trying_indexes(database: Database, ready: asyncio.Event) -> None:
    while True:
        try:
            await ensure_indexes(database)
            log.info("indexes_ready")
            ready.set()
            return
        except PyMongoError as exc:
            log.warning("indexes_not_ready", error=type(exc).__name__)
            await asyncio.sleep(INDEX_RETRY_SECONDS)


async def database_reachable(database: Database, schema_ready: asyncio.Event) -> bool:
    """The store's health: MongoDB answers a ping and the indexes exist (gRPC health, /readyz)."""
    if not schema_ready.is_set():
        return False
    try:
        await database.client.admin.command("ping")
    except PyMongoError:
        return False
    return True


async def run(config: StoreConfig, *, stop_event: asyncio.Event | None = None, grace_seconds: float = 20.0) -> None:
    """Serves the store until SIGTERM/SIGINT or `stop_event`."""
    database = connect(config.mongodb_uri, config.mongodb_db, server_selection_timeout_ms=config.server_selection_timeout_ms)
    tasks: list[asyncio.Task] = []
    schema_ready = asyncio.Event()

    def register(server) -> list[str]:
        store_pb2_grpc.add_StoreServiceServicer_to_server(StoreServicer(database, config, schema_ready), server)
        return [SERVICE_NAME]

    async def on_start() -> None:
        tasks.append(asyncio.create_task(keep_trying_indexes(database, schema_ready)))

    async def on_stop() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        database.close()

    await serve(
        "store", config.listen, register, on_start=on_start, on_stop=on_stop,
        grace_seconds=grace_seconds, stop_event=stop_event,
        health_probe=lambda: database_reachable(database, schema_ready),
        probe_interval=config.health_interval_seconds,
    )
