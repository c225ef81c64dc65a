"""Issue 21: batch jobs through a supervised local stack while its parts are killed with SIGKILL.

The stack is its own (not the session's): it is supervised, so every killed part comes back by
itself, as it would under an orchestrator. Small NDVI jobs are submitted in three waves; the
emulator holds each Process API request for a while so that jobs are in flight when a part dies:

  wave 1 → kill the executor running a job, the store, MongoDB
  wave 2 → kill the compiler (the jobs are queued, claimed and compiled meanwhile), S3, the gateway
  wave 3 → kill the other executor while it runs a job

The kills are timed from the claim of a job (see `running_job`): e.g. S3 dies just before the
upload of a job that has just been claimed.

Then every job must be `finished` exactly once: one completion written by the store, results
downloadable and equal to what S3 holds, no stray objects, and no more Process API requests than
job attempts (a job is re-run only when the executor running it died). Finally the remaining
parts (tiles, emulator, OIDC provider) are killed too and must come back.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import date, timezone
from pathlib import Path

import openeo
import pymongo
import pytest
import requests
from openeo.rest import OpenEoApiError

from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Stack, StackConfig
from devstack.supervisor import RestartPolicy
from tests.e2e.worldcheck import day_interval, first_acquisition

pytestmark = pytest.mark.stack

ACQ = first_acquisition(date(2024, 8, 1))
PROCESS_DELAY_MS = 3000  # each job's Sentinel Hub request takes this long: jobs are in flight when parts die
FINAL = ("finished", "error", "canceled")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    config = StackConfig.free_ports(
        tmp_path_factory.mktemp("faults"),
        executors=2,
        supervise=True,
        echo=False,  # events are in logs/supervisor.log and in stack.supervisor.events
        restart_policy=RestartPolicy(initial_seconds=0.2, max_seconds=2.0),
        # short leases: a killed executor's job is claimed again within seconds, not minutes
        extra_env={"EXECUTOR_LEASE_SECONDS": "6", "EXECUTOR_RENEW_SECONDS": "2", "EXECUTOR_POLL_SECONDS": "0.5"},
    )
    running = Stack(config).start()
    try:
        yield running
    finally:
        running.stop()


def patiently(call, what: str, timeout: float = 30.0):
    """`call()` retried while a part is restarting (connection refused, 502/503/504)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except (requests.ConnectionError, requests.Timeout) as exc:
            error: Exception = exc
        except OpenEoApiError as exc:
            if exc.http_status_code not in (502, 503, 504):
                raise
            error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still failing after {timeout:.0f} s: {error}")
        time.sleep(0.3)


def submit(connection: openeo.Connection, index: int, *, start: bool = True):
    west = 14.3 + index * 0.01
    cube = connection.load_collection(
        "SENTINEL2_L2A",
        spatial_extent={"west": west, "south": 46.3, "east": west + 0.006, "north": 46.306},
        temporal_extent=day_interval(ACQ),
        bands=["B04", "B08"],
    )
    job = patiently(lambda: cube.ndvi(nir="B08", red="B04").create_job(title=f"fault {index}"), "creating a job")
    if start:
        patiently(job.start, "starting a job")
    return job


def job_documents(stack) -> dict[str, dict]:
    client = pymongo.MongoClient(stack.mongo.uri, serverSelectionTimeoutMS=10000)
    try:
        return {doc["_id"]: doc for doc in client.openeo.jobs.find()}
    finally:
        client.close()


def running_job(stack, job_ids, executor: str | None = None, *, at: float, timeout: float = 30.0) -> float:
    """Waits until one of `job_ids` runs (on `executor`, whose worker ids are `<name>-<loop>`, if
    given) and was claimed less than `at` seconds ago; returns that claim time + `at` (epoch
    seconds): the moment to kill a part so that the kill hits the job at that point of its run
    (its Sentinel Hub request returns PROCESS_DELAY_MS after the claim, then it uploads and
    completes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = time.time()
        for job_id, doc in job_documents(stack).items():
            if job_id not in job_ids or doc["status"] != "running":
                continue
            moment = doc["started"].replace(tzinfo=timezone.utc).timestamp() + at
            worker = str(doc.get("worker_id")).rsplit("-", 1)[0]
            if moment > now and (executor is None or worker == executor):
                return moment
        time.sleep(0.05)
    raise AssertionError(f"no job of {sorted(job_ids)} started on {executor or 'any executor'} within {timeout:.0f} s")


def sleep_until(epoch_seconds: float) -> None:
    time.sleep(max(0.0, epoch_seconds - time.time()))


def kill(stack, name: str, killed: list[str], *, wait: bool = True) -> None:
    stack.kill(name)
    killed.append(name)
    if wait:
        stack.wait_ready(name, timeout=60)


def log_events(path: Path, event: str) -> list[dict]:
    found = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == event:
            found.append(entry)
    return found


def test_jobs_finish_exactly_once_while_every_part_is_killed(stack, tmp_path):
    requests.delete(stack.emulator_url + "/_emulator/stats", timeout=5).raise_for_status()
    requests.post(
        stack.emulator_url + "/_emulator/faults", json={"delay_ms": PROCESS_DELAY_MS, "count": 1000}, timeout=5
    ).raise_for_status()
    connection = openeo.connect(stack.gateway_url)
    connection.authenticate_basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    killed: list[str] = []
    started = time.monotonic()

    delay = PROCESS_DELAY_MS / 1000
    # Wave 1: three jobs on four worker loops (two per executor), so each executor runs one.
    wave1 = [submit(connection, i) for i in range(3)]
    ids1 = {job.job_id for job in wave1}
    sleep_until(running_job(stack, ids1, "executor", at=delay - 1.0))
    kill(stack, "executor", killed)  # its jobs are claimed again once their lease expires
    # the store and then MongoDB go down just before a job uploads its results and completes
    sleep_until(running_job(stack, ids1, at=delay - 0.3))
    kill(stack, "store", killed)
    kill(stack, "mongo", killed)

    # Wave 2: the jobs are queued while the compiler is down, and S3 dies just before an upload.
    wave2 = [submit(connection, i, start=False) for i in range(3, 6)]
    kill(stack, "compiler", killed, wait=False)
    for job in wave2:
        patiently(job.start, "starting a job")
    stack.wait_ready("compiler")
    sleep_until(running_job(stack, {job.job_id for job in wave2}, at=delay - 0.5))
    kill(stack, "s3", killed)
    kill(stack, "gateway", killed)

    # Wave 3: four jobs for four loops: the second executor gets some of them.
    wave3 = [submit(connection, i) for i in range(6, 10)]
    sleep_until(running_job(stack, {job.job_id for job in wave3}, "executor-2", at=delay - 1.0))
    kill(stack, "executor-2", killed)
    faults_done = time.monotonic() - started

    jobs = wave1 + wave2 + wave3
    deadline = time.monotonic() + 60
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        statuses = {job.job_id: patiently(job.status, "reading a job's status") for job in jobs}
        if all(status in FINAL for status in statuses.values()):
            break
        time.sleep(0.5)
    assert statuses == {job.job_id: "finished" for job in jobs}, (statuses, faults_done)

    # every kill was a crash the supervisor repaired (not a restart by the test)
    assert all(stack.restarts(name) >= 1 for name in killed), {n: stack.restarts(n) for n in killed}

    # the store wrote each job's completion exactly once, with the lease of the attempt that finished it
    documents = job_documents(stack)
    completions = Counter(entry["job_id"] for entry in log_events(stack.logs_dir / "store.log", "job_completed"))
    claims = Counter()
    executor_completions = Counter()
    for name in ("executor", "executor-2"):
        log = stack.logs_dir / f"{name}.log"
        claims.update(entry["job_id"] for entry in log_events(log, "job_claimed"))
        executor_completions.update(entry["job_id"] for entry in log_events(log, "job_completed"))
    for job in jobs:
        doc = documents[job.job_id]
        assert completions[job.job_id] == 1, (job.job_id, completions[job.job_id])
        assert executor_completions[job.job_id] <= 1
        assert doc["status"] == "finished" and doc["completed_lease"]
        assert 1 <= doc["attempts"] == claims[job.job_id], (job.job_id, doc["attempts"], claims[job.job_id])
    # the jobs whose executor was killed while they ran were claimed again; the others only once
    rerun = {job_id for job_id, n in claims.items() if n > 1}
    assert rerun, "no job was running on a killed executor: the test did not test a takeover"
    # no job that this test did not create was run
    assert {job_id for job_id, doc in documents.items() if doc.get("attempts")} == {job.job_id for job in jobs}

    # results downloadable, equal to S3's objects, and nothing else under the jobs' prefixes
    s3 = stack.s3.client()
    for job in jobs:
        metadata = patiently(lambda job=job: job.get_results().get_metadata(), "reading results")
        assets = metadata["assets"]
        assert assets, job.job_id
        listing = s3.list_objects_v2(Bucket=stack.s3.bucket, Prefix=f"jobs/{job.job_id}/").get("Contents", [])
        stored = {obj["Key"].rsplit("/", 1)[1]: obj["Size"] for obj in listing}
        # besides the assets: the STAC record and the worker's completion manifest (internal)
        assert set(stored) == {*assets, "job-results.json", "_completion-manifest.json"}, (
            job.job_id, sorted(stored), sorted(assets))
        for name, asset in assets.items():
            body = requests.get(asset["href"], timeout=30)
            assert body.status_code == 200, (job.job_id, name, body.status_code)
            assert len(body.content) == stored[name] and body.content[:4] in (b"II*\x00", b"MM\x00*")

    # at most one Process API request per attempt: nothing was fetched twice within an attempt
    stats = requests.get(stack.emulator_url + "/_emulator/stats", timeout=5).json()
    process_requests = stats["requests"].get("process", 0)
    assert len(jobs) <= process_requests <= sum(claims[job.job_id] for job in jobs), (process_requests, claims)

    # the parts no batch job needs come back too
    for name in ("tiles", "emulator", "oidc"):
        kill(stack, name, killed)
        assert stack.restarts(name) >= 1
    assert all(stack.parts[name].handle.running for name in stack.names)


def test_stop_start_and_pause_of_one_part_on_a_supervised_stack(stack):
    # stopped on purpose: the supervisor leaves it down until it is started again
    restarts = stack.restarts("mongo")
    stack.stop("mongo")
    time.sleep(1.5)  # several supervisor polls and more than the first backoff delay
    assert not stack.mongo.running and stack.restarts("mongo") == restarts
    stack.start("mongo")
    assert stack.mongo.running and stack.restarts("mongo") == restarts
    client = pymongo.MongoClient(stack.mongo.uri, serverSelectionTimeoutMS=5000)
    try:
        assert client.openeo.jobs.count_documents({"status": "finished"}) >= 1  # its data is still there
    finally:
        client.close()

    # paused: the process lives (nothing to restart) but does not answer, until it is resumed
    pid = stack.s3.pid
    paused_at = time.time()
    stack.pause("s3", seconds=2.0)
    with pytest.raises(requests.Timeout):
        requests.get(stack.s3.endpoint_url, timeout=0.5)
    assert stack.s3.running
    time.sleep(max(0.0, paused_at + 2.5 - time.time()))
    assert requests.get(stack.s3.endpoint_url, timeout=5).status_code in (200, 403)  # answers again
    assert stack.s3.pid == pid
    assert [e for e in stack.supervisor.events if e.part == "s3" and e.at > paused_at] == []
