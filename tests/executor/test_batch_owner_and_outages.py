"""Issue 21: batch jobs run on their owner's Sentinel Hub account (never silently the backend's),
and a job's work, results and log survive store / S3 outages (no loss, nothing done twice)."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import jwt
import pytest

from backend_common.errors import OpenEOError
from backend_proto.v1 import common_pb2, store_pb2
from executor_svc.batch import BatchWorker, WorkerSettings
from executor_svc.batch.job_log import JobLog
from executor_svc.batch.manifest import MANIFEST_NAME
from executor_svc.batch.retry import DependencyDown, retry_for
from executor_svc.batch.worker import _Scrubber
from executor_svc.runner import PlanRunner
from executor_svc.sentinelhub.errors import client_error, upstream_failure, user_token_rejected

from .fakes import FakeCompiler, FakeSentinelHub, FakeStore, make_job, ndvi_plan


@pytest.fixture
def pool():
    with ThreadPoolExecutor(4) as executor:
        yield executor


def worker_for(store, sh, storage, pool, tmp_path, plan=None, **settings):
    base = dict(worker_id="w-test", work_dir=str(tmp_path), lease_seconds=1, renew_seconds=0.05, poll_seconds=0.05,
                io_retries=2, retry_base_delay=0.01, retry_max_delay=0.2, outage_seconds=30)
    base.update(settings)
    return BatchWorker(WorkerSettings(**base), store, FakeCompiler(plan or ndvi_plan()), PlanRunner(sh, pool),
                       storage, pool)


def unavailable() -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(),
                                details="store unreachable")


def jwt_token(exp: float, sub: str = "alice") -> str:
    return jwt.encode({"sub": sub, "exp": int(exp)}, "k" * 32, algorithm="HS256")


def basic_owner(user_id: str, token: str) -> common_pb2.User:
    return common_pb2.User(user_id=user_id, auth_method="basic", sh_access_token=token)


class RefusingSentinelHub(FakeSentinelHub):
    def __init__(self, error: Exception):
        super().__init__()
        self.error = error

    async def process_raster(self, request, *, token=None, **kwargs):
        self.requests.append((request, token))
        raise self.error


class CountingStorage:
    """The real S3 storage, counting writes (uploads / PUTs) per key."""

    def __init__(self, storage):
        self._storage = storage
        self.writes: dict[str, int] = {}
        self.config = storage.config
        self.bucket = storage.bucket

    def __getattr__(self, name):
        return getattr(self._storage, name)

    async def upload_file(self, key, path, content_type="application/octet-stream"):
        self.writes[key] = self.writes.get(key, 0) + 1
        return await self._storage.upload_file(key, path, content_type)

    async def put_bytes(self, key, data, content_type="application/octet-stream"):
        self.writes[key] = self.writes.get(key, 0) + 1
        return await self._storage.put_bytes(key, data, content_type)


# ---------------------------------------------------------------- whose account pays


async def test_expired_owner_token_fails_the_job_without_any_sentinel_hub_request(storage, pool, tmp_path):
    job = make_job("job-expired", user_id="basic~alice")
    store = FakeStore([job], owners={job.id: basic_owner("basic~alice", jwt_token(time.time() - 5))})
    sh = FakeSentinelHub()
    await worker_for(store, sh, storage, pool, tmp_path).claim_and_run()
    assert sh.requests == []  # neither with the stale token nor with the backend's account
    (done,) = store.completed
    error = json.loads(done.error_json)
    assert done.status == "error" and error["code"] == "TokenInvalid"
    assert "expired" in error["message"] and "log in again and restart the job" in error["message"]
    assert store.logs[-1].level == "error" and "log in again and restart the job" in store.logs[-1].message
    assert store.released == []  # not retried


async def test_basic_owner_without_a_stored_token_never_runs_on_the_backend_account(storage, pool, tmp_path):
    job = make_job("job-no-token", user_id="basic~alice")
    store = FakeStore([job], owners={job.id: common_pb2.User(user_id="basic~alice")})
    sh = FakeSentinelHub()
    await worker_for(store, sh, storage, pool, tmp_path).claim_and_run()
    assert sh.requests == []
    assert store.completed[0].status == "error"
    assert "log in again and restart the job" in json.loads(store.completed[0].error_json)["message"]


@pytest.mark.parametrize("refusal", [user_token_rejected(),
                                     client_error(403, b'{"error": {"message": "Quota exhausted"}}', "process request")])
async def test_sentinel_hub_refusing_the_owner_token_ends_the_job_once(storage, pool, tmp_path, refusal):
    token = jwt_token(time.time() + 3600)
    job = make_job("job-refused", user_id="basic~alice")
    store = FakeStore([job], owners={job.id: basic_owner("basic~alice", token)})
    sh = RefusingSentinelHub(refusal)
    await worker_for(store, sh, storage, pool, tmp_path).claim_and_run()
    assert sh.requests and all(sent == token for _, sent in sh.requests)
    (done,) = store.completed
    error = json.loads(done.error_json)
    assert done.status == "error" and error["code"] == "TokenInvalid"
    assert "log in again and restart the job" in error["message"] and "not run on any other account" in error["message"]
    assert store.released == []


async def test_oidc_owner_runs_on_the_backend_account_and_the_job_carries_the_costs(storage, pool, tmp_path):
    job = make_job("job-oidc", user_id="oidc~egi~bob")
    store = FakeStore([job], owners={job.id: common_pb2.User(user_id="oidc~egi~bob", auth_method="oidc")})
    sh = FakeSentinelHub()
    await worker_for(store, sh, storage, pool, tmp_path).claim_and_run()
    assert [token for _, token in sh.requests] == [None]  # the backend's account
    (done,) = store.completed
    assert done.status == "finished" and done.costs == 1.5
    assert json.loads(done.usage_json)["sentinelhub"] == {"value": 1.5, "unit": "sentinelhub_processing_unit"}
    assert any("backend's Sentinel Hub account" in e.message and "charged to this job" in e.message for e in store.logs)


# ---------------------------------------------------------------- outages


class FlakyStore(FakeStore):
    """Unreachable (UNAVAILABLE on every call but ClaimJob) from the first renewal until
    `down_seconds` later, like a MongoDB outage behind the store."""

    def __init__(self, jobs, down_seconds: float, only: set | None = None, **kwargs):
        super().__init__(jobs, **kwargs)
        self.down_seconds = down_seconds
        self.only = only
        self.down_from: float | None = None
        self.refused = {"RenewLease": 0, "AppendJobLogs": 0, "CompleteJob": 0}

    def _down(self, method: str) -> bool:
        if self.only is not None and method not in self.only:
            return False
        now = time.monotonic()
        if self.down_from is None:
            self.down_from = now
        if now - self.down_from < self.down_seconds:
            self.refused[method] += 1
            return True
        return False

    async def RenewLease(self, request):
        if self._down("RenewLease"):
            raise unavailable()
        return await super().RenewLease(request)

    async def AppendJobLogs(self, request):
        if self.down_from is not None and self._down("AppendJobLogs"):
            raise unavailable()
        return await super().AppendJobLogs(request)

    async def CompleteJob(self, request):
        if self.down_from is not None and self._down("CompleteJob"):
            raise unavailable()
        return await super().CompleteJob(request)


async def test_store_outage_longer_than_the_lease_loses_nothing_and_completes_once(storage, pool, tmp_path):
    job = make_job("job-outage")
    store = FlakyStore([job], down_seconds=2.5)  # lease: 1 s
    sh = FakeSentinelHub(delay=0.5)
    counting = CountingStorage(storage)
    await asyncio.wait_for(worker_for(store, sh, counting, pool, tmp_path).claim_and_run(), 30)
    assert store.refused["RenewLease"] >= 2 and store.refused["AppendJobLogs"] >= 1  # it was really down
    assert [c.status for c in store.completed] == ["finished"]
    assert len(sh.requests) == 1 and all(count == 1 for count in counting.writes.values())
    messages = [entry.message for entry in store.logs]
    assert messages[0].startswith("Job started") and messages[-1].startswith("Job finished")
    assert len(messages) == len(set(messages)) == 4  # every line once, in order
    times = [entry.time for entry in store.logs]
    assert times == sorted(times)


async def test_completion_is_retried_until_the_store_answers(storage, pool, tmp_path):
    job = make_job("job-complete-late")
    store = FlakyStore([job], down_seconds=1.5, only={"RenewLease", "CompleteJob"})
    await asyncio.wait_for(worker_for(store, FakeSentinelHub(delay=0.3), storage, pool, tmp_path).claim_and_run(), 30)
    assert store.refused["CompleteJob"] >= 2
    assert [c.status for c in store.completed] == ["finished"]


async def test_a_later_attempt_of_the_run_reuses_complete_results_without_paying_again(storage, pool, tmp_path):
    job = make_job("job-reuse")

    class NeverCompletes(FakeStore):
        async def CompleteJob(self, request):
            raise unavailable()

    first_store = NeverCompletes([job])
    sh = FakeSentinelHub()
    counting = CountingStorage(storage)
    status = await worker_for(first_store, sh, counting, pool, tmp_path, outage_seconds=0.2).process(
        job, "lease-1", owner=basic_owner(job.user_id, "tok"), run_id="run-A")
    assert status == "store_unavailable" and len(sh.requests) == 1
    writes_after_first = dict(counting.writes)
    assert f"jobs/{job.id}/{MANIFEST_NAME}" in writes_after_first

    # the lease ran out; another worker claims the same run
    second_store = FakeStore([job], run_ids={job.id: "run-A"})
    await worker_for(second_store, sh, counting, pool, tmp_path).claim_and_run()
    (done,) = second_store.completed
    assert done.status == "finished" and done.costs == 1.5
    assert len(sh.requests) == 1  # Sentinel Hub was not called again
    assert counting.writes == writes_after_first  # nothing uploaded again, nothing deleted
    assert sorted(a.key for a in done.results.assets) == sorted(
        k for k in await storage.list_keys(f"jobs/{job.id}/") if not k.endswith(MANIFEST_NAME))
    assert any("already written all results" in entry.message for entry in second_store.logs)

    # a new start by the owner (another run id) computes afresh
    job.status = "queued"
    third_store = FakeStore([job], run_ids={job.id: "run-B"})
    await worker_for(third_store, sh, counting, pool, tmp_path).claim_and_run()
    assert third_store.completed[0].status == "finished" and len(sh.requests) == 2


async def test_sentinel_hub_temporarily_unavailable_gives_the_job_back(storage, pool, tmp_path):
    job = make_job("job-sh-down")
    store = FakeStore([job])
    sh = RefusingSentinelHub(upstream_failure("HTTP 503", 6, "process request", 503))
    await worker_for(store, sh, storage, pool, tmp_path).claim_and_run()
    assert store.completed == [] and len(store.released) == 1


# ---------------------------------------------------------------- building blocks


async def test_job_log_keeps_lines_through_an_outage_in_order():
    class Store:
        def __init__(self):
            self.down = True
            self.stored = []
            self.calls = []

        async def AppendJobLogs(self, request):
            self.calls.append(request.append_id)
            if self.down:
                raise unavailable()
            self.stored.extend(entry.message for entry in request.entries)

    store = Store()
    job_log = JobLog(store, "j", base_delay=0.01, max_delay=0.05)
    for i in range(5):
        job_log.add("info", f"line {i}")
        await asyncio.sleep(0.02)
    assert not await job_log.flush(0.1) and store.stored == []
    store.down = False
    job_log.add("info", "line 5")
    assert await job_log.flush(2)
    assert store.stored == [f"line {i}" for i in range(6)]
    # the first batch kept its key through every failed attempt
    first_key = store.calls[0]
    assert store.calls.count(first_key) >= 3
    await job_log.close(1)


async def test_job_log_of_a_deleted_job_is_discarded_not_retried_forever():
    class Store:
        async def AppendJobLogs(self, request):
            raise grpc.aio.AioRpcError(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(), "gone")

    job_log = JobLog(Store(), "j", base_delay=0.01)
    job_log.add("info", "a")
    job_log.add("info", "b")
    assert await job_log.flush(1)
    assert job_log.discarded >= 1 and job_log.pending == 0
    await job_log.close(1)


async def test_retry_for_spans_the_window_with_backoff_and_raises_other_errors_at_once():
    calls = []

    async def down():
        calls.append(time.monotonic())
        raise ConnectionError("refused by 10.0.0.7:8333")

    started = time.monotonic()
    with pytest.raises(DependencyDown) as info:
        await retry_for(down, what="uploading jobs/j/a.tif", public="the result storage", seconds=0.5,
                        min_attempts=2, base_delay=0.05, max_delay=0.2)
    assert time.monotonic() - started >= 0.5 and len(calls) >= 4
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    assert gaps[1] > gaps[0] * 1.5  # backoff
    assert info.value.public == "the result storage" and "10.0.0.7" in str(info.value)

    async def bad():
        calls.append(0)
        raise ValueError("not transient")

    calls.clear()
    with pytest.raises(ValueError):
        await retry_for(bad, what="x", seconds=5)
    assert calls == [0]


def test_scrubber_hides_the_s3_endpoint_bucket_and_keys(s3_config):
    class Storage:
        config = s3_config
        bucket = s3_config.bucket

    scrub = _Scrubber(Storage())
    host = s3_config.endpoint_url.split("://")[1]
    text = (f"Could not connect to the endpoint URL: \"{s3_config.endpoint_url}/{s3_config.bucket}/jobs/j-1/a.tif\" "
            f"({host}); key 'jobs/j-1/b.tif'")
    clean = scrub(text)
    assert host not in clean and s3_config.bucket not in clean and "jobs/" not in clean
    assert clean.startswith("Could not connect to the endpoint URL:")
    assert scrub("Sentinel Hub rejected the request (HTTP 400)") == "Sentinel Hub rejected the request (HTTP 400)"
