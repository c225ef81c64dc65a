"""Issue 21: the owner's Sentinel Hub token is stored with the job and handed only to the claiming
worker; a worker gives a job back after an infrastructure failure (ReleaseJob); expired leases are
not taken over right after a database outage."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest

from backend_proto.v1 import common_pb2, store_pb2
from store_svc.availability import DatabaseAvailability
from tests.store.conftest import PROCESS, openeo_error


def basic_user(name: str, token: str) -> common_pb2.User:
    return common_pb2.User(user_id=f"basic~{name}", auth_method="basic", sh_access_token=token)


def claim(worker: str = "w", lease_seconds: int = 30) -> store_pb2.ClaimJobRequest:
    return store_pb2.ClaimJobRequest(worker_id=worker, lease_seconds=lease_seconds)


async def test_token_goes_to_the_claiming_worker_only_and_is_refreshed_by_each_start(store):
    created_with = basic_user("alice", "TOKEN-AT-CREATION")
    job = await store.create_job(created_with, title="mine")
    started_with = basic_user("alice", "TOKEN-AT-START")
    queued = await store.stub.QueueJob(store_pb2.JobRef(user=started_with, job_id=job.id))
    # starting again while queued (after a new login) refreshes the token, nothing else
    fresher = basic_user("alice", "TOKEN-FRESHER")
    again = await store.stub.QueueJob(store_pb2.JobRef(user=fresher, job_id=job.id))
    assert again.status == "queued" and again.attempts == 0
    reply = await store.stub.ClaimJob(claim())
    assert reply.job.id == job.id
    assert reply.owner.user_id == "basic~alice" and reply.owner.auth_method == "basic"
    assert reply.owner.sh_access_token == "TOKEN-FRESHER"
    assert reply.run_id
    # no other message carries any of the tokens, the claimed Job included
    listed = await store.stub.ListJobs(store_pb2.ListRequest(user=fresher))
    read = await store.stub.GetJob(store_pb2.JobRef(user=fresher, job_id=job.id))
    for message in (job, queued, again, reply.job, listed, read):
        blob = message.SerializeToString()
        assert b"TOKEN-" not in blob, type(message).__name__
    done = await store.stub.CompleteJob(store_pb2.CompleteJobRequest(job_id=job.id, lease_token=reply.lease_token,
                                                                      status="finished"))
    assert b"TOKEN-" not in done.SerializeToString()

    # a restart after the job ended: a new run id and the restarting login's token
    restarted_with = basic_user("alice", "TOKEN-RESTART")
    await store.stub.QueueJob(store_pb2.JobRef(user=restarted_with, job_id=job.id))
    second = await store.stub.ClaimJob(claim())
    assert second.owner.sh_access_token == "TOKEN-RESTART"
    assert second.run_id and second.run_id != reply.run_id


async def test_oidc_owner_has_no_token(store):
    bob = common_pb2.User(user_id="oidc~local~bob", auth_method="oidc")
    job = await store.queued_job(bob)
    reply = await store.stub.ClaimJob(claim())
    assert reply.job.id == job.id
    assert reply.owner == common_pb2.User(user_id="oidc~local~bob", auth_method="oidc")


async def test_release_requeues_keeping_the_attempt_then_errors_when_none_is_left(store_runner):
    store = await store_runner.start(job_max_attempts=2)
    alice = basic_user("alice", "T")
    job = await store.queued_job(alice)
    first = await store.stub.ClaimJob(claim("w1"))
    error = json.dumps({"code": "ServiceUnavailable", "message": "Storage was unavailable; try again later."})
    released = await store.stub.ReleaseJob(store_pb2.ReleaseJobRequest(job_id=job.id, lease_token=first.lease_token,
                                                                       error_json=error))
    assert released.status == "queued" and released.attempts == 1
    # a retry after a lost reply answers the same; a stale token cannot release again
    repeated = await store.stub.ReleaseJob(store_pb2.ReleaseJobRequest(job_id=job.id, lease_token=first.lease_token))
    assert repeated.status == "queued" and repeated.version == released.version
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.ReleaseJob(store_pb2.ReleaseJobRequest(job_id=job.id, lease_token="not-the-lease"))
    assert openeo_error(err.value)[0] == "JobLeaseLost"
    second = await store.stub.ClaimJob(claim("w2"))
    assert second.job.id == job.id and second.job.attempts == 2 and second.run_id == first.run_id
    last = await store.stub.ReleaseJob(store_pb2.ReleaseJobRequest(job_id=job.id, lease_token=second.lease_token,
                                                                   error_json=error))
    assert last.status == "error" and json.loads(last.error_json) == json.loads(error)
    assert not (await store.stub.ClaimJob(claim("w3"))).HasField("job")


async def test_expired_leases_wait_for_the_grace_period_after_a_start(store_runner):
    store = await store_runner.start(lease_grace_seconds=2.5)
    job = await store.queued_job(basic_user("alice", "T"))
    held = await store.stub.ClaimJob(claim("w1", lease_seconds=1))
    assert held.job.id == job.id
    await asyncio.sleep(1.2)  # expired, but the store (like after an outage) has not been up 2.5 s
    assert not (await store.stub.ClaimJob(claim("w2"))).HasField("job")
    # the live worker renews its expired lease (nobody took it over) and completes normally
    renewed = await store.stub.RenewLease(store_pb2.RenewLeaseRequest(job_id=job.id, lease_token=held.lease_token,
                                                                      lease_seconds=1))
    assert renewed.lease_held
    await asyncio.sleep(2.0)  # the grace has passed and the lease expired again: taken over
    taken = await store.stub.ClaimJob(claim("w2"))
    assert taken.job.id == job.id and taken.job.attempts == 2


def test_availability_grace_restarts_after_each_outage():
    now = [100.0]
    availability = DatabaseAvailability(30, clock=lambda: now[0])
    assert not availability.expired_leases_claimable()  # just started
    now[0] += 30
    assert availability.expired_leases_claimable()
    availability.failed()
    assert not availability.expired_leases_claimable()
    now[0] += 60  # down for a minute
    assert not availability.expired_leases_claimable()
    availability.succeeded()
    now[0] += 29
    assert not availability.expired_leases_claimable()
    availability.succeeded()  # successes while available do not move the start
    now[0] += 1
    assert availability.expired_leases_claimable()
