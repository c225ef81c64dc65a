"""A service's tiles spend processing units: reported to the store in batches, and refused with
402 once the service's budget is spent (cached tiles are still served)."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from backend_common.errors import from_rpc_error
from backend_proto.v1 import store_pb2
from tests.tiles.test_tiles_service import fetch, inside_tile, tiles  # noqa: F401 (fixture)
from tiles_svc.spending import SpendingTally


async def wait_for(predicate, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_rendered_tiles_are_reported_in_one_batch_and_cache_hits_cost_nothing(tiles):
    stub, store, _, executor = tiles
    coords = [inside_tile(z) for z in (6, 7, 8)]
    await asyncio.gather(*(fetch(stub, "s-1", t.z, t.x, t.y) for t in coords))  # rendered within one period
    for t in coords:  # served from the cache
        assert (await fetch(stub, "s-1", t.z, t.x, t.y))[0].cache_hit
    await asyncio.gather(*(fetch(stub, "s-1", 10, *inside_tile(10)[:2]) for _ in range(5)))  # coalesced: one render
    await wait_for(lambda: store.services["s-1"].tiles_rendered == 4)
    assert executor.calls == 4
    assert store.services["s-1"].costs == pytest.approx(1.0)
    assert len(store.spending_batches) <= 2  # summed per period, not one write per tile
    assert {e.user_id for b in store.spending_batches for e in b.entries} == {"u1"}


async def test_a_spent_budget_refuses_new_tiles_with_402_but_serves_cached_ones(tiles):
    stub, store, _, executor = tiles
    store.services["s-1"].budget = 0.5
    executor.processing_units = 0.3
    first, second, third = inside_tile(6), inside_tile(7), inside_tile(8)
    await fetch(stub, "s-1", first.z, first.x, first.y)  # 0.3 of 0.5: still under the budget
    await fetch(stub, "s-1", second.z, second.x, second.y)  # 0.6: now spent
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await fetch(stub, "s-1", third.z, third.x, third.y)
    error = from_rpc_error(err.value)
    assert (error.code, error.status) == ("PaymentRequired", 402)
    assert "budget of 0.5 processing units" in error.message and "used 0.6 processing units" in error.message
    cached, _ = await fetch(stub, "s-1", first.z, first.x, first.y)
    assert cached.cache_hit and executor.calls == 2
    # a higher budget renders again
    store.services["s-1"].budget = 2.0
    again, _ = await fetch(stub, "s-1", third.z, third.x, third.y)
    assert not again.cache_hit and executor.calls == 3


class _Store:
    def __init__(self):
        self.down = True
        self.received: list[store_pb2.ServiceSpendingBatch] = []

    async def AddServiceSpending(self, batch):
        if self.down:
            raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata())
        self.received.append(batch)
        return store_pb2.ServiceSpendingTotals(costs={e.service_id: e.processing_units for e in batch.entries})


async def test_amounts_survive_a_store_outage_and_are_sent_at_shutdown():
    store = _Store()
    tally = SpendingTally(store, interval=0.05)
    service = store_pb2.Service(id="s-a", user_id="u", budget=1.0)
    tally.add("s-a", "u", 0.4)
    await asyncio.sleep(0.2)  # flushes failed: kept
    tally.add("s-a", "u", 0.2)
    assert tally.spent(service) == pytest.approx(0.6) and store.received == []
    store.down = False
    await tally.close()
    [batch] = store.received
    assert [(e.service_id, e.user_id, e.tiles) for e in batch.entries] == [("s-a", "u", 2)]
    assert batch.entries[0].processing_units == pytest.approx(0.6)
    assert tally.spent(service) == pytest.approx(0.6)  # now the store's confirmed figure


async def test_the_owners_monthly_limit_refuses_new_tiles_with_429_but_serves_cached_ones(tiles):
    stub, store, _, executor = tiles
    store.services["s-1"].processing_units_per_month = 1.0  # the service's billing plan
    store.month_spent["u1"] = 0.6  # jobs and synchronous requests of the owner this month
    executor.processing_units = 0.3
    first, second, third = inside_tile(6), inside_tile(7), inside_tile(8)
    await fetch(stub, "s-1", first.z, first.x, first.y)  # 0.6 + 0.3: under the limit
    await fetch(stub, "s-1", second.z, second.x, second.y)  # 0.9 < 1.0: rendered, now 1.2
    for _ in range(2):  # before the tiles' spending reaches the store, and after
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await fetch(stub, "s-1", third.z, third.x, third.y)
        error = from_rpc_error(err.value)
        assert (error.code, error.status) == ("QuotaExceeded", 429)
        assert "monthly limit of 1 processing units" in error.message and "spent 1.2" in error.message
        await wait_for(lambda: store.services["s-1"].costs == pytest.approx(0.6))
    cached, _ = await fetch(stub, "s-1", first.z, first.x, first.y)
    assert cached.cache_hit and executor.calls == 2
    # a plan without a monthly limit renders again
    store.services["s-1"].processing_units_per_month = 0.0
    again, _ = await fetch(stub, "s-1", third.z, third.x, third.y)
    assert not again.cache_hit and executor.calls == 3
