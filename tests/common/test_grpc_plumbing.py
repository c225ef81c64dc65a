"""backend_common's gRPC plumbing: request id across a hop, openEO errors across a hop, health,
deadlines and the mapping of an unreachable service to 503."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from backend_common.config import MAX_MESSAGE_BYTES
from backend_common.errors import OpenEOError, from_rpc_error
from backend_common.grpc_client import open_channel
from backend_common.grpc_server import serve
from backend_common.logging import current_request_id, set_request_id
from backend_proto.v1 import common_pb2, store_pb2, store_pb2_grpc
from devstack.processes import free_port


class EchoStore(store_pb2_grpc.StoreServiceServicer):
    """Answers GetJob with the request id it saw; fails in the ways the tests ask for."""

    async def GetJob(self, request, context):
        if request.job_id == "missing":
            raise OpenEOError("JobNotFound", "The batch job 'missing' does not exist.", 404)
        if request.job_id == "crash":
            raise RuntimeError("secret internal detail /etc/passwd")
        if request.job_id == "spent":
            error = OpenEOError("KernelDimensionsUneven", "failed after its loads", 400)
            error.processing_units = 12.25
            raise error
        if request.job_id == "huge":
            return store_pb2.Job(id="huge", process_json="x" * (MAX_MESSAGE_BYTES + 1))
        if request.job_id == "slow":
            await asyncio.sleep(5)
        return store_pb2.Job(id=request.job_id, title=current_request_id() or "")


@pytest.fixture
async def echo_server():
    port = free_port()
    stop = asyncio.Event()
    names = []

    def register(server):
        store_pb2_grpc.add_StoreServiceServicer_to_server(EchoStore(), server)
        names.append(store_pb2.DESCRIPTOR.services_by_name["StoreService"].full_name)
        return names

    task = asyncio.create_task(serve("test", f"127.0.0.1:{port}", register, grace_seconds=1, stop_event=stop))
    channel = open_channel(f"127.0.0.1:{port}", deadline=2.0)
    health = health_pb2_grpc.HealthStub(channel)
    for _ in range(100):
        try:
            await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=0.5)
            break
        except grpc.RpcError:
            await asyncio.sleep(0.05)
    yield channel, port
    await channel.close()
    stop.set()
    await task


def job_ref(job_id: str) -> store_pb2.JobRef:
    return store_pb2.JobRef(user=common_pb2.User(user_id="u1"), job_id=job_id)


async def test_request_id_travels_in_metadata(echo_server):
    channel, _ = echo_server
    set_request_id("req-abc-123")
    job = await store_pb2_grpc.StoreServiceStub(channel).GetJob(job_ref("j1"))
    assert job.title == "req-abc-123"


async def test_openeo_error_crosses_the_hop(echo_server):
    channel, _ = echo_server
    with pytest.raises(grpc.RpcError) as info:
        await store_pb2_grpc.StoreServiceStub(channel).GetJob(job_ref("missing"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    err = from_rpc_error(info.value)
    assert (err.code, err.status) == ("JobNotFound", 404)
    assert "missing" in err.message


async def test_a_failed_runs_spending_crosses_the_hop(echo_server):
    channel, _ = echo_server
    with pytest.raises(grpc.RpcError) as info:
        await store_pb2_grpc.StoreServiceStub(channel).GetJob(job_ref("spent"))
    err = from_rpc_error(info.value)
    assert (err.code, err.status, err.processing_units, err.billable) == ("KernelDimensionsUneven", 400, 12.25, True)
    with pytest.raises(grpc.RpcError) as info:
        await store_pb2_grpc.StoreServiceStub(channel).GetJob(job_ref("missing"))
    assert from_rpc_error(info.value).processing_units == 0.0


async def test_internal_errors_do_not_leak(echo_server):
    channel, _ = echo_server
    with pytest.raises(grpc.RpcError) as info:
        await store_pb2_grpc.StoreServiceStub(channel).GetJob(job_ref("crash"))
    err = from_rpc_error(info.value)
    assert (err.code, err.status) == ("Internal", 500)
    assert "passwd" not in err.message and "RuntimeError" not in err.message


async def test_deadline_turns_into_503(echo_server):
    channel, _ = echo_server
    with pytest.raises(grpc.RpcError) as info:
        await store_pb2_grpc.StoreServiceStub(channel).GetJob(job_ref("slow"))
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert from_rpc_error(info.value).status == 503


async def test_health_and_reflection(echo_server):
    channel, _ = echo_server
    health = health_pb2_grpc.HealthStub(channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service="openeo.backend.v1.StoreService"))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def one_request():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    services = []
    async for reply in stub.ServerReflectionInfo(one_request()):
        services = [s.name for s in reply.list_services_response.service]
    assert "openeo.backend.v1.StoreService" in services


async def test_unreachable_service_is_503_not_a_hang():
    channel = open_channel(f"127.0.0.1:{free_port()}", deadline=1.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(grpc.RpcError) as info:
        await store_pb2_grpc.StoreServiceStub(channel).GetJob(job_ref("j1"))
    await channel.close()
    assert loop.time() - started < 3
    err = from_rpc_error(info.value)
    assert (err.code, err.status) == ("ServiceUnavailable", 503)


def test_openeo_error_json_shape():
    body = OpenEOError("ProcessUnsupported", "Process 'foo' is not supported.", 400).to_json("rid")
    assert body == {"id": "rid", "code": "ProcessUnsupported", "message": "Process 'foo' is not supported.", "links": []}


@pytest.mark.parametrize("direction", ["reply", "request"])
async def test_messages_above_the_size_limit_are_a_4xx_not_internal(echo_server, direction):
    """A plan or a request larger than gRPC's message limit is the user's graph being too large:
    ProcessGraphComplexity (400), never a 500."""
    channel, _ = echo_server
    ref = job_ref("huge") if direction == "reply" else job_ref("x" * (MAX_MESSAGE_BYTES + 1))
    with pytest.raises(grpc.RpcError) as info:
        await store_pb2_grpc.StoreServiceStub(channel).GetJob(ref)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    err = from_rpc_error(info.value)
    assert (err.code, err.status) == ("ProcessGraphComplexity", 400)


async def test_health_probe_drives_the_serving_status():
    """serve(health_probe=...) reports the named service NOT_SERVING while the probe fails (e.g. the
    database is down); the server's overall status "" stays SERVING."""
    port = free_port()
    stop = asyncio.Event()
    healthy = {"now": True}

    async def probe():
        if healthy["now"] is None:
            raise ConnectionError("database gone")
        return healthy["now"]

    def register(server):
        store_pb2_grpc.add_StoreServiceServicer_to_server(EchoStore(), server)
        return [store_pb2.DESCRIPTOR.services_by_name["StoreService"].full_name]

    task = asyncio.create_task(serve("test", f"127.0.0.1:{port}", register, grace_seconds=0.2, stop_event=stop,
                                     health_probe=probe, probe_interval=0.05))
    channel = open_channel(f"127.0.0.1:{port}", deadline=2.0)
    health = health_pb2_grpc.HealthStub(channel)

    name = store_pb2.DESCRIPTOR.services_by_name["StoreService"].full_name

    async def status_becomes(expected) -> None:
        for _ in range(100):
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=0.5)
                if reply.status == expected:
                    return
            except grpc.RpcError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError(f"health never became {expected}")

    try:
        await status_becomes(health_pb2.HealthCheckResponse.SERVING)
        healthy["now"] = False
        await status_becomes(health_pb2.HealthCheckResponse.NOT_SERVING)
        overall = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=0.5)
        assert overall.status == health_pb2.HealthCheckResponse.SERVING  # the process is alive: no restart
        healthy["now"] = True
        await status_becomes(health_pb2.HealthCheckResponse.SERVING)
        healthy["now"] = None  # the probe raising counts as not serving
        await status_becomes(health_pb2.HealthCheckResponse.NOT_SERVING)
    finally:
        await channel.close()
        stop.set()
        await task
