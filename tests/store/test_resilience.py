"""The store against a database that goes away and comes back; the runnable service process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from backend_proto.v1 import store_pb2, store_pb2_grpc
from devstack.mongo import MongoProcess, start_mongodb
from tests.store.conftest import PROCESS, free_port, openeo_error, user, wait_serving

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(bool(os.environ.get("MONGODB_URI")), reason="needs a database it may stop")


async def expect_unavailable(call, request) -> float:
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(request, timeout=20)
    elapsed = time.monotonic() - started
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert openeo_error(err.value) == ("ServiceUnavailable", 503)
    return elapsed


async def eventually(call, request, within: float = 15.0):
    deadline = time.monotonic() + within
    while True:
        try:
            return await call(request, timeout=10)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


STORE_SERVICE = store_pb2.DESCRIPTOR.services_by_name["StoreService"].full_name


async def health_status(channel, service: str = STORE_SERVICE) -> int:
    """The named service's status follows MongoDB (readiness); "" is the process (liveness)."""
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return reply.status


async def until_health(channel, status: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while await health_status(channel) != status:
        assert time.monotonic() < deadline, f"health did not become {status}"
        await asyncio.sleep(0.1)


async def test_database_restart_unavailable_then_recovers_with_data(store_runner, tmp_path):
    mongo = start_mongodb(data_dir=tmp_path / "db")
    try:
        store = await store_runner.start(mongo_uri=mongo.uri, health_interval_seconds=0.2)
        alice = user()
        job = await store.create_job(alice, title="survives")
        await until_health(store.channel, health_pb2.HealthCheckResponse.SERVING)

        await asyncio.to_thread(mongo.stop)
        # readiness follows the database: /readyz of the gateway reads this status
        await until_health(store.channel, health_pb2.HealthCheckResponse.NOT_SERVING)
        assert await health_status(store.channel, "") == health_pb2.HealthCheckResponse.SERVING
        elapsed = await expect_unavailable(store.stub.GetJob, store_pb2.JobRef(user=alice, job_id=job.id))
        assert elapsed < 8, f"took {elapsed:.1f}s to report the outage"
        await expect_unavailable(store.stub.ClaimJob, store_pb2.ClaimJobRequest(worker_id="w"))
        await expect_unavailable(store.stub.CreateJob, store_pb2.CreateJobRequest(user=alice, process_json=PROCESS))

        await asyncio.to_thread(mongo.start)
        back = await eventually(store.stub.GetJob, store_pb2.JobRef(user=alice, job_id=job.id))
        await until_health(store.channel, health_pb2.HealthCheckResponse.SERVING)
        assert back == job  # persisted on disk across the restart
        listed = await store.stub.ListJobs(store_pb2.ListRequest(user=alice))
        assert [j.id for j in listed.jobs] == [job.id]
        assert (await store.stub.QueueJob(store_pb2.JobRef(user=alice, job_id=job.id))).status == "queued"
    finally:
        mongo.stop()


async def test_store_started_before_the_database_serves_once_it_is_up(store_runner, tmp_path):
    port = free_port()
    pending = MongoProcess(port, tmp_path / "late-db", tmp_path / "late-db.log")
    store = await store_runner.start(mongo_uri=pending.uri, health_interval_seconds=0.2)
    assert await health_status(store.channel) == health_pb2.HealthCheckResponse.NOT_SERVING
    assert await health_status(store.channel, "") == health_pb2.HealthCheckResponse.SERVING  # the process is up
    alice = user()
    await expect_unavailable(store.stub.CreateJob, store_pb2.CreateJobRequest(user=alice, process_json=PROCESS))
    await asyncio.to_thread(pending.start)
    try:
        job = await eventually(store.stub.CreateJob, store_pb2.CreateJobRequest(user=alice, process_json=PROCESS))
        assert (await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))).id == job.id
        await until_health(store.channel, health_pb2.HealthCheckResponse.SERVING)
    finally:
        pending.stop()


async def test_module_entry_point_reports_serving_and_stops_on_sigterm(mongo):
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "STORE_LISTEN": address, "MONGODB_URI": mongo.uri, "MONGODB_DB": f"entry_{free_port()}",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "store_svc"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            await wait_serving(channel, timeout=20)
            health = health_pb2_grpc.HealthStub(channel)
            await until_health(channel, health_pb2.HealthCheckResponse.SERVING)  # MongoDB answers
            reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            stub = store_pb2_grpc.StoreServiceStub(channel)
            job = await stub.CreateJob(store_pb2.CreateJobRequest(user=user(), process_json=PROCESS), timeout=10)
            assert job.status == "created"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        output = proc.stdout.read().decode()
        assert '"event": "service_started"' in output and '"service": "store"' in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
