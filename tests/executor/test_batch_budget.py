"""A running job stops when its spending reaches its budget, keeping its finished parts as
partial results, with the reason in its logs."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from executor_svc.batch.budget import budget_stop

from .fakes import FakeCompiler, FakeSentinelHub, FakeStore, make_job, ndvi_plan
from .test_batch_worker import worker_for


@pytest.fixture
def pool():
    with ThreadPoolExecutor(2) as executor:
        yield executor


def test_budget_stop_before_the_part_that_would_exceed_it():
    assert budget_stop(0.0, 100.0, 10.0, 1, 3) is None  # no budget
    assert budget_stop(3.5, 1.5, 1.5, 1, 3) is None
    reason = budget_stop(3.5, 3.0, 1.5, 2, 3)
    assert reason is not None and "3.5" in reason and "2 of 3" in reason
    assert budget_stop(3.5, 3.0, 1.5, 3, 3) is None  # nothing left to stop


async def test_job_over_budget_stops_with_partial_results(storage, pool, tmp_path):
    job = make_job("job-budget")
    job.budget = 3.5  # each of the 3 parts costs 1.5 PU (FakeSentinelHub)
    store = FakeStore([job])
    sh = FakeSentinelHub()
    worker = worker_for(store, FakeCompiler(ndvi_plan(width=900, height=300)), sh, storage, pool, tmp_path,
                        chunk_pixels=300 * 300)
    await worker.claim_and_run()
    (done,) = store.completed
    assert done.status == "error" and done.costs == pytest.approx(3.0)
    error = json.loads(done.error_json)
    assert error["code"] == "PaymentRequired" and "budget of 3.5" in error["message"]
    assert len(sh.requests) == 2  # the third part was never requested
    usage = json.loads(done.usage_json)
    assert usage["sentinelhub"]["value"] == pytest.approx(3.0)
    assert usage["storage"]["value"] == pytest.approx(sum(a.size for a in done.results.assets) / 1e6)
    data = sorted(a.name for a in done.results.assets if "data" in a.roles)
    assert data == [f"openEO_r0c{c}_{d}.tif" for c in (0, 1) for d in ("2024-05-03T100000Z", "2024-05-13T100000Z")]
    keys = await storage.list_keys("jobs/job-budget/")
    assert "jobs/job-budget/_completion-manifest.json" not in keys  # a restart runs the whole job
    warnings = [e for e in store.logs if e.level == "warning"]
    assert warnings and "reached its budget" in warnings[-1].message
