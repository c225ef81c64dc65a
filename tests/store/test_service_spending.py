"""Processing units of services' tiles: atomic per-service increments and the owner's month."""

from __future__ import annotations

import asyncio

from backend_proto.v1 import store_pb2
from tests.store.conftest import user
from tests.store.test_services_and_udps import create_service


def entry(service, pu: float, tiles: int = 1) -> store_pb2.ServiceSpendingEntry:
    return store_pb2.ServiceSpendingEntry(service_id=service.id, user_id=service.user_id,
                                          processing_units=pu, tiles=tiles)


async def test_concurrent_increments_add_up_on_the_service_and_the_owners_month(store):
    alice = user()
    service = await create_service(store, alice, budget=5.0)
    other = await create_service(store, alice)
    batches = [store_pb2.ServiceSpendingBatch(entries=[entry(service, 0.25), entry(other, 1.0, tiles=2)])
               for _ in range(8)]
    replies = await asyncio.gather(*(store.stub.AddServiceSpending(b) for b in batches))
    assert max(r.costs[service.id] for r in replies) == 2.0
    assert sorted(r.costs[other.id] for r in replies) == [float(n) for n in range(1, 9)]
    for_tiles = await store.stub.GetServiceForTiles(store_pb2.ServiceRef(service_id=service.id))
    assert (for_tiles.costs, for_tiles.tiles_rendered, for_tiles.budget) == (2.0, 8, 5.0)
    assert (await store.stub.GetService(store_pb2.ServiceRef(user=alice, service_id=other.id))).tiles_rendered == 16
    month = await store.stub.GetUserSpending(store_pb2.UserSpendingRequest(user_id=alice.user_id))
    assert month.processing_units == 10.0


async def test_an_edit_keeps_the_costs_and_a_deleted_service_still_counts_for_its_owner(store):
    alice = user()
    service = await create_service(store, alice)
    await store.stub.AddServiceSpending(store_pb2.ServiceSpendingBatch(entries=[entry(service, 1.5)]))
    edited = await store.stub.UpdateService(store_pb2.UpdateServiceRequest(
        user=alice, service_id=service.id, update_mask=["title"], title="renamed"))
    assert (edited.title, edited.costs) == ("renamed", 1.5)
    await store.stub.DeleteService(store_pb2.ServiceRef(user=alice, service_id=service.id))
    reply = await store.stub.AddServiceSpending(store_pb2.ServiceSpendingBatch(entries=[entry(service, 2.0)]))
    assert service.id not in reply.costs
    month = await store.stub.GetUserSpending(store_pb2.UserSpendingRequest(user_id=alice.user_id))
    assert month.processing_units == 3.5


async def test_negative_or_empty_entries_change_nothing(store):
    alice = user()
    service = await create_service(store, alice)
    reply = await store.stub.AddServiceSpending(store_pb2.ServiceSpendingBatch(
        entries=[entry(service, -4.0, tiles=0), store_pb2.ServiceSpendingEntry(processing_units=3.0)]))
    assert dict(reply.costs) == {}
    assert (await store.stub.GetService(store_pb2.ServiceRef(user=alice, service_id=service.id))).costs == 0.0
    month = await store.stub.GetUserSpending(store_pb2.UserSpendingRequest(user_id=alice.user_id))
    assert month.processing_units == 0.0


async def test_first_increments_of_a_month_racing_are_all_counted(store):
    owners = [user() for _ in range(10)]  # the race of a month's first upserts is not hit every time
    services = [await create_service(store, owner) for owner in owners]
    await asyncio.gather(*(store.stub.AddServiceSpending(store_pb2.ServiceSpendingBatch(entries=[entry(service, 0.5)]))
                           for service in services for _ in range(32)))
    for owner in owners:
        month = await store.stub.GetUserSpending(store_pb2.UserSpendingRequest(user_id=owner.user_id))
        assert month.processing_units == 16.0
