"""The job queue: atomic claims, leases, requeue after a lost executor, cancel, completion."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import grpc
import pytest

from backend_proto.v1 import store_pb2
from tests.store.conftest import openeo_error, user

RESULTS = store_pb2.JobResults(
    assets=[store_pb2.ResultAsset(
        name="a.tif", key="jobs/x/a.tif", media_type="image/tiff; application=geotiff", roles=["data"], title="a",
        size=1234, datetime="2024-05-03T00:00:00Z",
        projection=store_pb2.Projection(epsg=32633, shape=[2, 3], bbox=[0, 0, 30, 20], transform=[10, 0, 0, 0, -10, 20]),
        bands=[store_pb2.Band(name="B04", common_name="red", center_wavelength=0.665, data_type="float32",
                              nodata=float("nan"), statistics=store_pb2.BandStatistics(minimum=-1, valid_percent=50))],
    )],
    bbox=[14.9, 46.9, 15.1, 47.0], start_datetime="2024-05-03T00:00:00Z", end_datetime="2024-05-13T00:00:00Z",
)


def claim(worker: str, lease_seconds: int = 30) -> store_pb2.ClaimJobRequest:
    return store_pb2.ClaimJobRequest(worker_id=worker, lease_seconds=lease_seconds)


async def test_claim_with_empty_queue_returns_no_job(store):
    reply = await store.stub.ClaimJob(claim("w"))
    assert not reply.HasField("job") and reply.lease_token == ""
    await store.create_job(user())  # created, not queued
    assert not (await store.stub.ClaimJob(claim("w"))).HasField("job")


async def test_claims_oldest_queued_first(store):
    alice = user()
    jobs = [await store.create_job(alice, title=str(i)) for i in range(3)]
    # queue in the order 2, 0, 1: claims follow the queueing order, not the creation order
    for index in (2, 0, 1):
        await store.stub.QueueJob(store_pb2.JobRef(user=alice, job_id=jobs[index].id))
    claimed = [(await store.stub.ClaimJob(claim(f"w{i}"))).job.id for i in range(3)]
    assert claimed == [jobs[2].id, jobs[0].id, jobs[1].id]


async def test_concurrent_claims_take_each_job_exactly_once(store):
    owner = user()
    queued = {(await store.queued_job(owner)).id for _ in range(5)}
    replies = await asyncio.gather(*(store.stub.ClaimJob(claim(f"worker-{i}")) for i in range(20)))
    won = [reply for reply in replies if reply.HasField("job")]
    counts = Counter(reply.job.id for reply in won)
    assert set(counts) == queued
    assert all(count == 1 for count in counts.values())
    assert len(won) == 5
    assert len({reply.lease_token for reply in won}) == 5
    for reply in won:
        assert reply.job.status == "running" and reply.job.attempts == 1


async def test_lease_expiry_requeues_and_stale_worker_cannot_complete(store):
    alice = user()
    job = await store.queued_job(alice)
    first = await store.stub.ClaimJob(claim("worker-a", lease_seconds=1))
    assert first.job.id == job.id
    # while the lease holds nobody else gets the job
    assert not (await store.stub.ClaimJob(claim("worker-b"))).HasField("job")
    await asyncio.sleep(1.3)
    second = await store.stub.ClaimJob(claim("worker-b", lease_seconds=30))
    assert second.job.id == job.id
    assert second.job.attempts == 2
    assert second.lease_token != first.lease_token

    renewal = await store.stub.RenewLease(store_pb2.RenewLeaseRequest(
        job_id=job.id, lease_token=first.lease_token, lease_seconds=30, progress=50))
    assert renewal.lease_held is False
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.CompleteJob(store_pb2.CompleteJobRequest(
            job_id=job.id, lease_token=first.lease_token, status="finished", results=store_pb2.JobResults()))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert openeo_error(err.value)[0] == "JobLeaseLost"
    current = await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))
    assert current.status == "running" and not current.HasField("results") and current.progress == 0

    done = await store.stub.CompleteJob(store_pb2.CompleteJobRequest(
        job_id=job.id, lease_token=second.lease_token, status="finished",
        results=RESULTS, usage_json='{"processing_units": 3}', costs=3))
    assert done.status == "finished" and done.progress == 100 and done.costs == 3
    # every field, NaN no-data included, survives MongoDB (bytes compared: NaN != NaN)
    assert done.results.SerializeToString(deterministic=True) == RESULTS.SerializeToString(deterministic=True)
    read = await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))
    assert read.results.SerializeToString(deterministic=True) == RESULTS.SerializeToString(deterministic=True)
    # a second completion with the same (now spent) token is refused too
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.CompleteJob(store_pb2.CompleteJobRequest(job_id=job.id, lease_token=second.lease_token, status="error"))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_renewal_keeps_the_job_and_records_progress(store):
    alice = user()
    job = await store.queued_job(alice)
    held = await store.stub.ClaimJob(claim("worker-a", lease_seconds=1))
    for progress in (10, 40):
        await asyncio.sleep(0.6)
        reply = await store.stub.RenewLease(store_pb2.RenewLeaseRequest(
            job_id=job.id, lease_token=held.lease_token, lease_seconds=1, progress=progress))
        assert reply.lease_held and not reply.cancel_requested
        assert not (await store.stub.ClaimJob(claim("worker-b"))).HasField("job")
    current = await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))
    assert current.progress == 40 and current.attempts == 1
    # negative progress leaves it unchanged
    await store.stub.RenewLease(store_pb2.RenewLeaseRequest(job_id=job.id, lease_token=held.lease_token, progress=-1))
    assert (await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))).progress == 40


async def test_renewal_records_partial_results_of_the_running_job(store):
    alice = user()
    job = await store.queued_job(alice)
    held = await store.stub.ClaimJob(claim("worker-a"))
    partial = store_pb2.JobResults(bbox=[1, 2, 3, 4])
    partial.assets.add(name="openEO_33N_3_49.tif", key=f"jobs/{job.id}/openEO_33N_3_49.tif", roles=["data"])
    await store.stub.RenewLease(store_pb2.RenewLeaseRequest(job_id=job.id, lease_token=held.lease_token,
                                                            progress=50, partial_results=partial))
    current = await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))
    assert [a.name for a in current.results.assets] == ["openEO_33N_3_49.tif"] and current.status == "running"
    # a renewal without partial results leaves them
    await store.stub.RenewLease(store_pb2.RenewLeaseRequest(job_id=job.id, lease_token=held.lease_token, progress=60))
    assert len((await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))).results.assets) == 1
    # a stale lease writes nothing
    other = store_pb2.JobResults()
    other.assets.add(name="x.tif", key=f"jobs/{job.id}/x.tif", roles=["data"])
    reply = await store.stub.RenewLease(store_pb2.RenewLeaseRequest(job_id=job.id, lease_token="stale",
                                                                    partial_results=other))
    assert not reply.lease_held
    assert [a.name for a in (await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))).results.assets] \
        == ["openEO_33N_3_49.tif"]


async def test_max_attempts_then_error_with_reason(store_runner):
    store = await store_runner.start(job_max_attempts=2)
    alice = user()
    job = await store.queued_job(alice)
    for attempt in (1, 2):
        reply = await store.stub.ClaimJob(claim(f"lost-{attempt}", lease_seconds=1))
        assert reply.job.id == job.id and reply.job.attempts == attempt
        await asyncio.sleep(1.2)
    assert not (await store.stub.ClaimJob(claim("worker-3"))).HasField("job")
    failed = await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))
    assert failed.status == "error"
    assert "executor lost 2 times" in json.loads(failed.error_json)["message"]


async def test_cancel_running_job_is_seen_on_renewal(store):
    alice = user()
    job = await store.queued_job(alice)
    held = await store.stub.ClaimJob(claim("worker"))
    canceling = await store.stub.CancelJob(store_pb2.JobRef(user=alice, job_id=job.id))
    assert canceling.status == "running" and canceling.cancel_requested
    reply = await store.stub.RenewLease(store_pb2.RenewLeaseRequest(job_id=job.id, lease_token=held.lease_token, progress=5))
    assert reply.lease_held and reply.cancel_requested
    done = await store.stub.CompleteJob(store_pb2.CompleteJobRequest(job_id=job.id, lease_token=held.lease_token, status="canceled"))
    assert done.status == "canceled"


async def test_deleted_running_job_loses_its_lease(store):
    alice = user()
    job = await store.queued_job(alice)
    held = await store.stub.ClaimJob(claim("worker"))
    await store.stub.DeleteJob(store_pb2.JobRef(user=alice, job_id=job.id))
    reply = await store.stub.RenewLease(store_pb2.RenewLeaseRequest(job_id=job.id, lease_token=held.lease_token))
    assert not reply.lease_held
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.CompleteJob(store_pb2.CompleteJobRequest(job_id=job.id, lease_token=held.lease_token, status="finished"))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_complete_with_bad_status_is_refused_and_writes_nothing(store):
    alice = user()
    job = await store.queued_job(alice)
    held = await store.stub.ClaimJob(claim("worker"))
    twice = store_pb2.JobResults(assets=[store_pb2.ResultAsset(name="a.tif"), store_pb2.ResultAsset(name="a.tif")])
    for status, results in (("queued", store_pb2.JobResults()), ("finished", twice)):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await store.stub.CompleteJob(store_pb2.CompleteJobRequest(
                job_id=job.id, lease_token=held.lease_token, status=status, results=results))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    current = await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))
    assert current.status == "running" and current.version == held.job.version


async def test_two_store_replicas_never_hand_out_the_same_job(store_runner):
    first = await store_runner.start()
    second = await store_runner.start(db=first.config.mongodb_db)  # same database, separate caches
    owner = user()
    queued = {(await first.queued_job(owner)).id for _ in range(6)}
    replies = await asyncio.gather(*(
        (first if i % 2 else second).stub.ClaimJob(claim(f"worker-{i}")) for i in range(24)
    ))
    counts = Counter(reply.job.id for reply in replies if reply.HasField("job"))
    assert set(counts) == queued and set(counts.values()) == {1}


async def test_claim_needs_a_worker_id(store):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.ClaimJob(store_pb2.ClaimJobRequest())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_repeated_completion_after_a_lost_reply_is_idempotent(store):
    alice = user()
    job = await store.queued_job(alice)
    held = await store.stub.ClaimJob(claim("worker"))
    request = store_pb2.CompleteJobRequest(job_id=job.id, lease_token=held.lease_token, status="finished",
                                           results=store_pb2.JobResults(bbox=[1, 2, 3, 4]))
    first = await store.stub.CompleteJob(request)
    again = await store.stub.CompleteJob(request)
    assert again == first and again.status == "finished"
    # after a re-queue the old token is worthless again
    await store.stub.QueueJob(store_pb2.JobRef(user=alice, job_id=job.id))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.CompleteJob(request)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
