"""Fair sharing of the job queue: owners take turns, whatever the size of one owner's backlog."""

from __future__ import annotations

from collections import Counter

from backend_proto.v1 import store_pb2
from store_svc.job_queue import fair_order
from tests.store.conftest import user


def _jobs(owner: str, times: list[int]) -> list[dict]:
    return [{"_id": f"{owner}{t}", "user_id": owner, "queued_at": t} for t in times]


def test_owners_take_turns_oldest_first():
    queued = {"a": _jobs("a", [1, 2, 3, 4]), "b": _jobs("b", [10]), "c": _jobs("c", [5, 6])}
    order = [job["_id"] for job in fair_order(queued, Counter())]
    assert order == ["a1", "c5", "b10", "a2", "c6", "a3", "a4"]


def test_owners_with_running_jobs_wait_for_the_others():
    queued = {"a": _jobs("a", [1, 2, 3]), "b": _jobs("b", [10, 11])}
    order = [job["_id"] for job in fair_order(queued, Counter({"a": 2}))]
    assert order == ["b10", "b11", "a1", "a2", "a3"]
    assert fair_order({}, Counter({"a": 1})) == []


def claim(worker: str) -> store_pb2.ClaimJobRequest:
    return store_pb2.ClaimJobRequest(worker_id=worker, lease_seconds=60)


async def test_a_late_job_of_another_owner_is_claimed_next(store):
    alice, bob = user("alice"), user("bob")
    backlog = [await store.queued_job(alice) for _ in range(12)]
    first = await store.stub.ClaimJob(claim("w0"))
    assert first.job.id == backlog[0].id
    bobs = await store.queued_job(bob)
    # alice has a job running: bob's job (queued after all of alice's) goes next
    claimed = [(await store.stub.ClaimJob(claim(f"w{i}"))).job for i in range(1, 4)]
    assert claimed[0].id == bobs.id
    assert [job.id for job in claimed[1:]] == [backlog[1].id, backlog[2].id]
