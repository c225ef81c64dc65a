"""Quotas and spending kept by the store: in-flight slots, per-minute windows, monthly spending."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from backend_proto.v1 import store_pb2
from store_svc.quotas import seconds_to_next_minute, seconds_to_next_month
from tests.store.conftest import user


def test_retry_after_reaches_the_next_window():
    now = datetime(2026, 12, 6, 21, 30, 45, 500000, tzinfo=timezone.utc)
    assert seconds_to_next_minute(now) == 14.5
    assert seconds_to_next_month(now) == (datetime(2027, 1, 1, tzinfo=timezone.utc) - now).total_seconds()


def admission(owner, **limits) -> store_pb2.SyncAdmissionRequest:
    return store_pb2.SyncAdmissionRequest(user_id=owner.user_id, **limits)


async def test_in_flight_slots_are_per_user_and_released(store):
    alice, bob = user(), user()
    granted = await asyncio.gather(*(store.stub.AdmitSyncRequest(admission(alice, in_flight=2)) for _ in range(5)))
    admitted = [g for g in granted if g.admitted]
    assert len(admitted) == 2 and len({g.slot_id for g in admitted}) == 2
    refused = next(g for g in granted if not g.admitted)
    assert (refused.limit, refused.limit_value, refused.retry_after_seconds) == ("sync_requests_in_flight", 2, 1.0)
    assert (await store.stub.AdmitSyncRequest(admission(bob, in_flight=2))).admitted  # bob has his own slots
    await store.stub.ReleaseSyncSlot(store_pb2.SyncSlotRef(slot_id=admitted[0].slot_id,
                                                           slot_token=admitted[0].slot_token))
    assert (await store.stub.AdmitSyncRequest(admission(alice, in_flight=2))).admitted


async def test_a_slot_never_released_expires(store):
    alice = user()
    assert (await store.stub.AdmitSyncRequest(admission(alice, in_flight=1, slot_seconds=1))).admitted
    assert not (await store.stub.AdmitSyncRequest(admission(alice, in_flight=1))).admitted
    await asyncio.sleep(1.1)
    assert (await store.stub.AdmitSyncRequest(admission(alice, in_flight=1))).admitted


async def test_requests_per_minute(store):
    alice = user()
    answers = [await store.stub.AdmitSyncRequest(admission(alice, requests_per_minute=3)) for _ in range(4)]
    if not answers[2].admitted:  # the minute turned between the calls: the window restarted
        answers = [await store.stub.AdmitSyncRequest(admission(alice, requests_per_minute=3)) for _ in range(4)]
    assert [a.admitted for a in answers] == [True, True, True, False]
    assert answers[3].limit == "sync_requests_per_minute" and 0 < answers[3].retry_after_seconds <= 60


async def test_monthly_spending_from_sync_results_and_completed_jobs(store):
    alice = user()
    spending = await store.stub.AddSpending(store_pb2.SpendingRequest(user_id=alice.user_id, processing_units=2.5))
    assert spending.processing_units == 2.5 and len(spending.month) == 7
    job = await store.queued_job(alice)
    claimed = await store.stub.ClaimJob(store_pb2.ClaimJobRequest(worker_id="w", lease_seconds=30))
    assert claimed.job.id == job.id
    assert (await store.stub.GetUserSpending(store_pb2.UserSpendingRequest(user_id=alice.user_id))).active_jobs == 1
    done = store_pb2.CompleteJobRequest(job_id=job.id, lease_token=claimed.lease_token, status="finished",
                                        results=store_pb2.JobResults(), costs=4.0)
    await store.stub.CompleteJob(done)
    await store.stub.CompleteJob(done)  # a repeated completion is not counted twice
    spending = await store.stub.GetUserSpending(store_pb2.UserSpendingRequest(user_id=alice.user_id))
    assert spending.processing_units == 6.5 and spending.active_jobs == 0
    refused = await store.stub.AdmitSyncRequest(admission(alice, processing_units_per_month=6.5))
    assert not refused.admitted and refused.limit == "processing_units_per_month"
    assert refused.retry_after_seconds > 0 and refused.spent_this_month == 6.5


async def test_the_backends_capacity_is_shared_equally_between_users(store):
    alice, bob = user(), user()
    shared = dict(in_flight=16, shared_capacity=4)
    alone = await asyncio.gather(*(store.stub.AdmitSyncRequest(admission(alice, **shared)) for _ in range(6)))
    assert sum(a.admitted for a in alone) == 4  # alone: the whole capacity
    for a in [a for a in alone if a.admitted][:2]:
        await store.stub.ReleaseSyncSlot(store_pb2.SyncSlotRef(slot_id=a.slot_id, slot_token=a.slot_token))
    # alice holds 2 of 4; bob arrives: each may hold 2
    bobs = [await store.stub.AdmitSyncRequest(admission(bob, **shared)) for _ in range(3)]
    assert [b.admitted for b in bobs] == [True, True, False] and bobs[2].limit_value == 2
    assert not (await store.stub.AdmitSyncRequest(admission(alice, **shared))).admitted
