"""Batch jobs over real gRPC against the MongoDB-compatible server."""

from __future__ import annotations

import json

import grpc
import pytest

from backend_proto.v1 import common_pb2, store_pb2
from tests.store.conftest import PROCESS, openeo_error, user


async def test_create_get_list_delete_job(store):
    alice = user()
    created = await store.create_job(alice, title="NDVI", description="d", plan="free", budget=5.5,
                                     job_options_json='{"driver-memory": "2g"}')
    assert created.id.startswith("j-") and len(created.id) == 34
    assert created.status == "created"
    assert created.user_id == alice.user_id
    assert created.version == 1
    assert created.log_level == "info"
    assert created.created.endswith("Z") and created.created == created.updated
    assert json.loads(created.process_json) == json.loads(PROCESS)

    fetched = await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=created.id))
    assert fetched == created

    listing = await store.stub.ListJobs(store_pb2.ListRequest(user=alice))
    assert [job.id for job in listing.jobs] == [created.id]
    assert listing.next_token == ""

    await store.stub.DeleteJob(store_pb2.JobRef(user=alice, job_id=created.id))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=created.id))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert openeo_error(err.value) == ("JobNotFound", 404)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.DeleteJob(store_pb2.JobRef(user=alice, job_id=created.id))
    assert openeo_error(err.value) == ("JobNotFound", 404)


async def test_process_json_is_stored_verbatim(store):
    # key order, big integers and keys MongoDB would reject survive unchanged
    process = '{"process_graph": {"n": {"process_id": "x", "arguments": {"$ref": 1, "a.b": 12345678901234567890}}}}'
    job = await store.stub.CreateJob(store_pb2.CreateJobRequest(user=user(), process_json=process))
    assert job.process_json == process


async def test_other_users_jobs_are_not_found(store):
    alice, bob = user(), user()
    job = await store.create_job(alice)
    ref = store_pb2.JobRef(user=bob, job_id=job.id)
    for call in (store.stub.GetJob, store.stub.DeleteJob, store.stub.QueueJob, store.stub.CancelJob):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(ref)
        assert openeo_error(err.value) == ("JobNotFound", 404), call
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.UpdateJob(store_pb2.UpdateJobRequest(user=bob, job_id=job.id, update_mask=["title"], title="x"))
    assert openeo_error(err.value) == ("JobNotFound", 404)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.ListJobLogs(store_pb2.ListJobLogsRequest(user=bob, job_id=job.id))
    assert openeo_error(err.value) == ("JobNotFound", 404)
    assert (await store.stub.ListJobs(store_pb2.ListRequest(user=bob))).jobs == []
    # alice's job is untouched by bob's attempts
    still = await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))
    assert still.status == "created" and still.version == 1


async def test_calls_without_user_are_refused(store):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.CreateJob(store_pb2.CreateJobRequest(process_json=PROCESS))
    assert openeo_error(err.value) == ("AuthenticationRequired", 401)


async def test_job_listing_pages_newest_first(store):
    alice = user()
    ids = [(await store.create_job(alice, title=f"job {i}")).id for i in range(7)]
    await store.create_job(user())  # someone else's job never shows up
    seen, token, pages = [], "", 0
    while True:
        reply = await store.stub.ListJobs(store_pb2.ListRequest(user=alice, page=common_pb2.Page(limit=3, next_token=token)))
        pages += 1
        assert len(reply.jobs) <= 3
        seen.extend(job.id for job in reply.jobs)
        token = reply.next_token
        if not token:
            break
    assert pages == 3
    assert seen == list(reversed(ids))


async def test_paging_is_stable_when_items_are_added_between_pages(store):
    alice = user()
    ids = [(await store.create_job(alice)).id for _ in range(4)]
    first = await store.stub.ListJobs(store_pb2.ListRequest(user=alice, page=common_pb2.Page(limit=2)))
    newer = await store.create_job(alice)
    second = await store.stub.ListJobs(
        store_pb2.ListRequest(user=alice, page=common_pb2.Page(limit=2, next_token=first.next_token))
    )
    assert [j.id for j in first.jobs] + [j.id for j in second.jobs] == list(reversed(ids))
    assert newer.id not in [j.id for j in second.jobs]


async def test_invalid_page_token_is_a_400(store):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.ListJobs(store_pb2.ListRequest(user=user(), page=common_pb2.Page(next_token="%%%not-a-token")))
    assert openeo_error(err.value) == ("PageTokenInvalid", 400)


async def test_patch_changes_only_masked_fields_and_bumps_version(store):
    alice = user()
    job = await store.create_job(alice, title="old", description="keep", budget=3)
    updated = await store.stub.UpdateJob(store_pb2.UpdateJobRequest(
        user=alice, job_id=job.id, update_mask=["title", "budget"], title="new", budget=7, description="ignored"
    ))
    assert (updated.title, updated.budget, updated.description) == ("new", 7, "keep")
    assert updated.version == job.version + 1
    assert await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id)) == updated


@pytest.mark.parametrize(
    "mask, fields, code",
    [
        ([], {}, "NoDataForUpdate"),
        (["status"], {}, "PropertyNotEditable"),
        (["process"], {"process_json": "{not json"}, "ProcessInvalid"),
        (["budget"], {"budget": -1}, "BudgetInvalid"),
        (["log_level"], {"log_level": "loud"}, "LogLevelInvalid"),
        (["job_options"], {"job_options_json": "[1,"}, "InvalidArgument"),
    ],
)
async def test_bad_patch_is_a_400_and_changes_nothing(store, mask, fields, code):
    alice = user()
    job = await store.create_job(alice, title="t")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.UpdateJob(store_pb2.UpdateJobRequest(user=alice, job_id=job.id, update_mask=mask, **fields))
    assert openeo_error(err.value) == (code, 400)
    assert await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id)) == job


async def test_bad_create_is_a_400(store):
    alice = user()
    for fields, code in [
        ({"process_json": ""}, "ProcessGraphMissing"),
        ({"process_json": "nope"}, "ProcessInvalid"),
        ({"process_json": "[]"}, "ProcessInvalid"),
        ({"process_json": PROCESS, "budget": -2}, "BudgetInvalid"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await store.stub.CreateJob(store_pb2.CreateJobRequest(user=alice, **fields))
        assert openeo_error(err.value) == (code, 400)
    assert (await store.stub.ListJobs(store_pb2.ListRequest(user=alice))).jobs == []


async def test_patch_is_locked_while_queued_or_running(store):
    alice = user()
    job = await store.queued_job(alice)
    assert job.status == "queued"
    patch = store_pb2.UpdateJobRequest(user=alice, job_id=job.id, update_mask=["title"], title="x")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.UpdateJob(patch)
    assert openeo_error(err.value) == ("JobLocked", 400)
    claim = await store.stub.ClaimJob(store_pb2.ClaimJobRequest(worker_id="w1", lease_seconds=30))
    assert claim.job.id == job.id and claim.job.status == "running"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await store.stub.UpdateJob(patch)
    assert openeo_error(err.value) == ("JobLocked", 400)
    await store.stub.CompleteJob(store_pb2.CompleteJobRequest(job_id=job.id, lease_token=claim.lease_token, status="finished"))
    assert (await store.stub.UpdateJob(patch)).title == "x"


async def test_expected_version_conflict_is_a_409(store):
    alice = user()
    job = await store.create_job(alice, title="a")
    first = await store.stub.UpdateJob(store_pb2.UpdateJobRequest(
        user=alice, job_id=job.id, update_mask=["title"], title="b", expected_version=job.version))
    assert first.version == job.version + 1
    with pytest.raises(grpc.aio.AioRpcError) as err:  # a writer still holding the old version
        await store.stub.UpdateJob(store_pb2.UpdateJobRequest(
            user=alice, job_id=job.id, update_mask=["title"], title="c", expected_version=job.version))
    assert err.value.code() == grpc.StatusCode.ABORTED
    assert openeo_error(err.value) == ("VersionConflict", 409)
    assert (await store.stub.GetJob(store_pb2.JobRef(user=alice, job_id=job.id))).title == "b"


async def test_queue_is_a_noop_while_queued_and_requeue_resets_the_run(store):
    alice = user()
    job = await store.queued_job(alice)
    again = await store.stub.QueueJob(store_pb2.JobRef(user=alice, job_id=job.id))
    assert again == job  # no-op: same version, same state
    claim = await store.stub.ClaimJob(store_pb2.ClaimJobRequest(worker_id="w", lease_seconds=30))
    running_again = await store.stub.QueueJob(store_pb2.JobRef(user=alice, job_id=job.id))
    assert running_again.status == "running" and running_again.version == claim.job.version
    failed = await store.stub.CompleteJob(store_pb2.CompleteJobRequest(
        job_id=job.id, lease_token=claim.lease_token, status="error",
        error_json='{"code": "X", "message": "boom"}', usage_json='{"cpu": {"value": 1, "unit": "cpu-seconds"}}', costs=2))
    assert failed.status == "error" and json.loads(failed.error_json)["message"] == "boom"
    requeued = await store.stub.QueueJob(store_pb2.JobRef(user=alice, job_id=job.id))
    assert requeued.status == "queued"
    assert (requeued.error_json, requeued.HasField("results"), requeued.usage_json, requeued.costs) == ("", False, "", 0)
    assert (requeued.progress, requeued.attempts, requeued.cancel_requested) == (0, 0, False)


async def test_cancel_queued_job_is_immediate_and_created_job_is_unchanged(store):
    alice = user()
    created = await store.create_job(alice)
    assert await store.stub.CancelJob(store_pb2.JobRef(user=alice, job_id=created.id)) == created
    queued = await store.queued_job(alice)
    canceled = await store.stub.CancelJob(store_pb2.JobRef(user=alice, job_id=queued.id))
    assert canceled.status == "canceled"
    # a canceled job is no longer claimable
    assert not (await store.stub.ClaimJob(store_pb2.ClaimJobRequest(worker_id="w"))).HasField("job")
