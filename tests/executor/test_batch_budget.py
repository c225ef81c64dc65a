"""A running job stops before the Sentinel Hub request that would take its spending past its
budget: it ends in error (PaymentRequired), charged what it spent, with the reason in its logs."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from executor_svc.sentinelhub.spending import BudgetReached, SpendingLimit

from .fakes import FakeCompiler, FakeSentinelHub, FakeStore, make_job, ndvi_plan
from .test_batch_worker import worker_for


@pytest.fixture
def pool():
    with ThreadPoolExecutor(2) as executor:
        yield executor


async def test_spending_lets_requests_through_while_the_budget_allows_them():
    spending = SpendingLimit(3.5)
    await spending.before_request()  # the first is always let through: its cost is not known yet
    spending.spent_on(1.5)
    await spending.before_request()
    spending.spent_on(1.5)
    with pytest.raises(BudgetReached) as info:
        await spending.before_request()  # 3.0 + 1.5 > 3.5
    assert (info.value.code, info.value.status, info.value.processing_units) == ("PaymentRequired", 402, 3.0)
    assert "budget of 3.5" in info.value.message


async def test_concurrent_requests_wait_for_the_first_answer_and_count_the_ones_under_way():
    import asyncio

    spending = SpendingLimit(4.0)
    await spending.before_request()
    second = asyncio.ensure_future(spending.before_request())
    await asyncio.sleep(0.01)
    assert not second.done()  # nothing is known about a request's cost until the first answer
    spending.spent_on(1.0)
    await second  # 1.0 + 1.0 x (0 under way + 1) <= 4
    await spending.before_request()  # 1.0 + 1.0 x (1 under way + 1) = 3 <= 4
    await spending.before_request()  # 1.0 + 1.0 x (2 under way + 1) = 4 <= 4
    with pytest.raises(BudgetReached):
        await spending.before_request()  # 1.0 + 1.0 x (3 under way + 1) = 5 > 4
    spending.abandoned()  # a failed request costs nothing and frees its place
    await spending.before_request()


async def test_a_failed_first_request_lets_the_next_one_try():
    import asyncio

    spending = SpendingLimit(10.0)
    await spending.before_request()
    waiting = asyncio.ensure_future(spending.before_request())
    await asyncio.sleep(0.01)
    spending.abandoned()
    await asyncio.wait_for(waiting, 1)
    assert spending.pending == 1


async def test_job_over_budget_stops_before_the_request_that_would_exceed_it(storage, pool, tmp_path):
    job = make_job("job-budget")
    job.budget = 3.5  # each of the 3 tiles costs 1.5 PU (FakeSentinelHub)
    store = FakeStore([job])
    sh = FakeSentinelHub(tile_px=300)
    worker = worker_for(store, FakeCompiler(ndvi_plan(width=900, height=300)), sh, storage, pool, tmp_path)
    await worker.claim_and_run()
    (done,) = store.completed
    assert done.status == "error" and done.costs == pytest.approx(3.0)
    error = json.loads(done.error_json)
    assert error["code"] == "PaymentRequired" and "budget of 3.5" in error["message"]
    assert len(sh.requests) == 2  # the third tile was never requested
    usage = json.loads(done.usage_json)
    assert usage["sentinelhub"]["value"] == pytest.approx(3.0)
    assert not [a for a in done.results.assets if "data" in a.roles]
    keys = await storage.list_keys("jobs/job-budget/")
    assert "jobs/job-budget/_completion-manifest.json" not in keys  # a restart runs the whole job
    warnings = [e for e in store.logs if e.level == "warning"]
    assert warnings and "reached its budget" in warnings[-1].message


async def test_a_job_failing_in_its_own_graph_pays_what_it_spent(storage, pool, tmp_path):
    from .fakes import NDVI_GRAPH

    uneven = {**NDVI_GRAPH, "k": {"process_id": "apply_kernel", "arguments": {"data": {"from_node": "ndvi"},
                                                                          "kernel": [[1, 1]]}},
              "save": {**NDVI_GRAPH["save"], "arguments": {"data": {"from_node": "k"}, "format": "GTiff"}}}
    store = FakeStore([make_job("job-uneven")])
    sh = FakeSentinelHub(tile_px=300)
    worker = worker_for(store, FakeCompiler(ndvi_plan(width=600, height=300, graph=uneven)), sh, storage, pool,
                        tmp_path)
    await worker.claim_and_run()
    (done,) = store.completed
    assert done.status == "error" and json.loads(done.error_json)["code"] == "KernelDimensionsUneven"
    assert done.costs == pytest.approx(3.0) and len(sh.requests) == 2
    assert json.loads(done.usage_json)["sentinelhub"]["value"] == pytest.approx(3.0)


class FailingSentinelHub(FakeSentinelHub):
    """Answers the first tile, then fails like Sentinel Hub when it cannot render (not the
    user's fault: a retry would pay the first tile again)."""

    async def process_raster(self, request, *, spending=None, **kwargs):
        from backend_common.errors import OpenEOError

        await spending.before_request()
        spending.spent_on(1.5)
        raise OpenEOError("SentinelHubError", "Sentinel Hub failed to render the request.", 502)


async def test_a_job_failing_at_sentinel_hub_pays_nothing(storage, pool, tmp_path):
    store = FakeStore([make_job("job-sh-down")])
    worker = worker_for(store, FakeCompiler(ndvi_plan(width=600, height=300)), FailingSentinelHub(), storage, pool,
                        tmp_path)
    await worker.claim_and_run()
    (done,) = store.completed
    assert done.status == "error" and json.loads(done.error_json)["code"] == "SentinelHubError"
    assert done.costs == 0 and "sentinelhub" not in json.loads(done.usage_json)
