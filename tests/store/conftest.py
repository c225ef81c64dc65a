"""Fixtures: one MongoDB-compatible server per test session (devstack.mongo), and per test a store
service served in-process on a free port, on its own fresh database, reached by a real gRPC client."""

from __future__ import annotations

import asyncio
import signal
import socket
import uuid
from dataclasses import dataclass

import grpc
import pymongo
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from backend_common.errors import CODE_METADATA, STATUS_METADATA
from backend_proto.v1 import common_pb2, store_pb2, store_pb2_grpc
from devstack.mongo import start_mongodb
from store_svc.app import run
from store_svc.config import StoreConfig


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def user(name: str | None = None) -> common_pb2.User:
    return common_pb2.User(user_id=f"basic:{name or uuid.uuid4().hex}", auth_method="basic")


def openeo_error(err: grpc.RpcError) -> tuple[str, int]:
    """(openEO code, HTTP status) carried by a failed call."""
    metadata = dict(err.trailing_metadata() or ())
    return metadata.get(CODE_METADATA, ""), int(metadata.get(STATUS_METADATA, "0") or 0)


PROCESS = '{"process_graph": {"add": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": true}}}'


@dataclass
class RunningStore:
    stub: store_pb2_grpc.StoreServiceStub
    channel: grpc.aio.Channel
    address: str
    config: StoreConfig

    async def create_job(self, owner, **fields) -> store_pb2.Job:
        return await self.stub.CreateJob(store_pb2.CreateJobRequest(user=owner, process_json=PROCESS, **fields))

    async def queued_job(self, owner, **fields) -> store_pb2.Job:
        job = await self.create_job(owner, **fields)
        return await self.stub.QueueJob(store_pb2.JobRef(user=owner, job_id=job.id))


@pytest.fixture(scope="session")
def mongo():
    handle = start_mongodb()
    yield handle
    handle.stop()


async def wait_serving(channel: grpc.aio.Channel, timeout: float = 10.0) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.aio.AioRpcError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("store service did not become SERVING")
        await asyncio.sleep(0.05)


def restore_default_signal_handling() -> None:
    """serve() makes SIGTERM/SIGINT stop the service; inside pytest they must stop pytest."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(sig)


class StoreRunner:
    """Starts store services in-process on free ports (stopped at the end of the test)."""

    def __init__(self, mongo_uri: str):
        self.mongo_uri = mongo_uri
        self.running: list[tuple[asyncio.Event, asyncio.Task, grpc.aio.Channel, str]] = []

    async def start(self, *, mongo_uri: str | None = None, db: str | None = None, **overrides) -> RunningStore:
        address = f"127.0.0.1:{free_port()}"
        config = StoreConfig(
            listen=address,
            mongodb_uri=mongo_uri or self.mongo_uri,
            mongodb_db=db or f"test_{uuid.uuid4().hex[:12]}",
            **overrides,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run(config, stop_event=stop, grace_seconds=0.5))
        channel = grpc.aio.insecure_channel(address)
        self.running.append((stop, task, channel, config.mongodb_db))
        await wait_serving(channel)
        await asyncio.sleep(0.05)
        restore_default_signal_handling()
        return RunningStore(store_pb2_grpc.StoreServiceStub(channel), channel, address, config)

    async def stop_all(self) -> None:
        for stop, task, channel, _ in self.running:
            stop.set()
            await channel.close()
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def store_runner(mongo):
    runner = StoreRunner(mongo.uri)
    yield runner
    await runner.stop_all()
    client = pymongo.MongoClient(mongo.uri, serverSelectionTimeoutMS=2000)
    try:
        for *_, db in runner.running:
            client.drop_database(db)
    except pymongo.errors.PyMongoError:
        pass
    finally:
        client.close()


@pytest.fixture
async def store(store_runner) -> RunningStore:
    return await store_runner.start()
