"""Exact PU estimates: the requests a plan really sends (pure), and the estimate of compiled graphs
against the Sentinel Hub emulator's own PU accounting (`/_emulator/stats`), synchronously and as a
batch job; a job's budget held request by request."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import pytest

from backend_common.processing_units import request_pu
from backend_proto.v1 import common_pb2, compiler_pb2, executor_pb2
from compiler_svc import compilation
from devstack.emulator import running_emulator
from executor_svc.costs.requests import load_cost, planned_requests, requests_pu
from executor_svc.runner import PlanRunner
from executor_svc.servicer import ExecutorServicer
from tests.compiler.conftest import FakeStore, as_json, load, save

USER = common_pb2.User(user_id="basic~demo")
SMALL = {"west": 16.1, "south": 48.1, "east": 16.106, "north": 48.104}


def _plan(width=600, height=300, bands=("B04", "B08")):
    setup = {"input": [{"bands": list(bands) + ["dataMask"]}], "output": {"id": "default", "bands": 2},
             "mosaicking": "ORBIT"}
    evalscript = f"//VERSION=3\nfunction setup(){{return {json.dumps(setup, separators=(',', ':'))};}}\n"
    ld = compiler_pb2.SentinelHubLoad(
        node_id="l", sh_type="sentinel-2-l2a", width=width, height=height, evalscript=evalscript,
        bbox=compiler_pb2.BoundingBox(west=0, south=0, east=width * 10.0, north=height * 10.0, epsg=32633))
    return compiler_pb2.ExecutionPlan(loads=[ld])


def test_requests_follow_the_client_split():
    plan = _plan(600, 300)
    for batch_job in (False, True):  # a job sends each load as one request too, split the same way
        assert [(r.width, r.height) for r in planned_requests(plan, split_threshold=2500, tile_size=2048,
                                                               batch_job=batch_job)] == [(600, 300)]
        # the client splits above its threshold into near-equal tiles
        tiles = planned_requests(plan, split_threshold=250, tile_size=250, batch_job=batch_job)
        assert sorted((r.width, r.height) for r in tiles) == [(200, 150)] * 6


def test_per_request_minimums_add_up():
    plan = _plan(600, 300, bands=("B04",))
    costs = [load_cost(plan.loads[0])]
    assert costs[0].n_input_bands == 1 and costs[0].orbit
    one = requests_pu(planned_requests(plan, split_threshold=2500, tile_size=2048, batch_job=False), costs, [3])
    assert one == pytest.approx(request_pu(600, 300, 1, samples=3))
    # 12 × 6 tiles of 50 × 50 px: each below the 0.01 area minimum of one request
    tiny = planned_requests(plan, split_threshold=50, tile_size=50, batch_job=False)
    assert len(tiny) == 72
    assert requests_pu(tiny, costs, [3]) == pytest.approx(72 * 0.01 * (1 / 3) * 2 * 3)
    assert requests_pu(tiny, costs, [3]) > one


@pytest.fixture(scope="module")
def emulator_url(tmp_path_factory):
    with running_emulator(tmp_path_factory.mktemp("emulator") / "emulator.log") as emulator:
        yield emulator.url


@pytest.fixture
async def setup(emulator_url, tmp_path):
    from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient

    pool = ThreadPoolExecutor(2)
    config = ClientConfig(deployment=Deployment.emulator(emulator_url), client_id="demo-client",
                          client_secret="demo-secret", split_threshold=200, tile_size=200)
    async with SentinelHubClient(config, executor=pool) as sh, aiohttp.ClientSession(emulator_url) as admin:
        runner = PlanRunner(sh, pool)
        yield ExecutorServicer(runner, None, None, pool, str(tmp_path)), runner, admin
    pool.shutdown()


async def _spent(admin) -> float:
    async with admin.get("/_emulator/stats") as resp:
        return (await resp.json())["pu_spent"]


GRAPHS = {
    "ndvi_gtiff": {"l": load(extent=SMALL, temporal=("2024-05-01", "2024-06-01")),
                   "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}}, "s": save("n")},
    "cloud_filtered": {"l": load(extent=SMALL, bands=("B02", "B03", "B04"), temporal=("2024-04-01", "2024-07-01"),
                                 properties={"eo:cloud_cover": {"process_graph": {"c": {
                                     "process_id": "lte", "arguments": {"x": {"from_parameter": "value"}, "y": 40},
                                     "result": True}}}}),
                       "s": save("l")},
    "image_png": {"l": load(extent=SMALL, bands=("B04", "B03", "B02"), temporal=("2024-05-01", "2024-05-20")),
                  "r": {"process_id": "reduce_dimension", "arguments": {
                      "data": {"from_node": "l"}, "dimension": "t", "reducer": {"process_graph": {"m": {
                          "process_id": "max", "arguments": {"data": {"from_parameter": "data"}}, "result": True}}}}},
                  "s": save("r", fmt="PNG")},
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
async def test_sync_estimate_equals_the_emulator_accounting(setup, name):
    servicer, _, admin = setup
    plan = await compilation.compile_process(as_json(GRAPHS[name]), FakeStore(), purpose=compiler_pb2.PURPOSE_SYNC)
    estimate = await servicer.EstimateCosts(executor_pb2.CostEstimateRequest(user=USER, plan=plan), None)
    assert estimate.exact and estimate.requests >= 1
    before = await _spent(admin)
    chunks = [c async for c in servicer.Execute(executor_pb2.ExecuteRequest(user=USER, plan=plan), None)]
    spent = await _spent(admin) - before
    assert chunks[0].processing_units == pytest.approx(spent, rel=1e-6)
    assert estimate.processing_units == pytest.approx(spent, rel=0.01)


async def test_job_estimate_equals_the_emulator_accounting(setup):
    servicer, runner, admin = setup
    graph = {"l": load(extent={"west": 16.1, "south": 48.1, "east": 16.15, "north": 48.13},
                       temporal=("2024-05-01", "2024-05-15")),
             "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}}, "s": save("n")}
    plan = await compilation.compile_process(as_json(graph), FakeStore(), purpose=compiler_pb2.PURPOSE_BATCH)
    assert max(plan.loads[0].width, plan.loads[0].height) > 200  # split into tiles by the client
    estimate = await servicer.EstimateCosts(executor_pb2.CostEstimateRequest(user=USER, plan=plan, batch_job=True),
                                            None)
    assert estimate.exact and estimate.requests > 1
    before = await _spent(admin)
    reported = (await runner.run(plan, USER)).processing_units  # what the batch worker runs
    spent = await _spent(admin) - before
    assert reported == pytest.approx(spent, rel=1e-6)
    assert estimate.processing_units == pytest.approx(spent, rel=0.01)


def test_a_collection_the_catalog_does_not_list_is_counted_once_a_day_as_an_upper_bound():
    """E.g. a BYOC collection without Catalog entries: the Catalog answers 400, the request itself
    may still work, so the estimate counts one acquisition a day and says it is not exact."""
    import asyncio
    from types import SimpleNamespace

    from backend_common.errors import OpenEOError
    from executor_svc.costs.estimate import estimate_plan

    plan = _plan(600, 300, bands=("B04",))
    plan.loads[0].time_from, plan.loads[0].time_to = "2024-07-01T00:00:00Z", "2024-07-10T23:59:59Z"
    asked = []

    class CatalogWithoutTheCollection:
        config = SimpleNamespace(split_threshold=2500, effective_tile_size=2048, deployment=None)

        async def acquisition_dates(self, collection, *args, **kwargs):
            asked.append(collection)
            raise OpenEOError("SentinelHubError", f"Illegal collection '{collection}'.", 400)

    estimate = asyncio.run(estimate_plan(plan, CatalogWithoutTheCollection(), token=None, batch_job=False))
    assert asked == ["sentinel-2-l2a"]
    assert estimate.processing_units == pytest.approx(request_pu(600, 300, 1, samples=10))
    assert not estimate.exact and "one acquisition a day" in estimate.reason


def test_other_catalog_failures_are_not_hidden_by_the_estimate():
    import asyncio
    from types import SimpleNamespace

    from backend_common.errors import OpenEOError
    from executor_svc.costs.estimate import estimate_plan

    plan = _plan(600, 300, bands=("B04",))
    plan.loads[0].time_from, plan.loads[0].time_to = "2024-07-01T00:00:00Z", "2024-07-10T23:59:59Z"

    class RefusingCatalog:
        config = SimpleNamespace(split_threshold=2500, effective_tile_size=2048, deployment=None)

        async def acquisition_dates(self, *args, **kwargs):
            raise OpenEOError("SentinelHubError", "Sentinel Hub refused the token.", 403)

    with pytest.raises(OpenEOError) as raised:
        asyncio.run(estimate_plan(plan, RefusingCatalog(), token=None, batch_job=False))
    assert raised.value.status == 403


async def test_a_budget_stops_the_client_before_the_tile_that_would_exceed_it(emulator_url):
    """The real client's split request, tile by tile against the emulator's accounting: with a
    budget of 2.5 tiles, two tiles are sent and paid, the third never leaves."""
    from executor_svc.loading.request import process_request
    from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient
    from executor_svc.sentinelhub.spending import BudgetReached, SpendingLimit

    graph = {"l": load(extent=SMALL, temporal=("2024-05-01", "2024-05-20")), "s": save("l")}
    plan = await compilation.compile_process(as_json(graph), FakeStore(), purpose=compiler_pb2.PURPOSE_BATCH)
    request = process_request(plan.loads[0])
    tile = -(-request["output"]["width"] // 3)
    config = ClientConfig(deployment=Deployment.emulator(emulator_url), client_id="demo-client",
                          client_secret="demo-secret", split_threshold=tile, tile_size=tile, max_tiles_in_flight=1)
    pool = ThreadPoolExecutor(2)
    async with SentinelHubClient(config, executor=pool) as sh, aiohttp.ClientSession(emulator_url) as admin:
        whole = await sh.process_raster(request)  # what each tile costs, unlimited
        assert whole.tiles >= 3
        per_tile = whole.processing_units / whole.tiles
        before = await _spent(admin)
        spending = SpendingLimit(2.5 * per_tile)
        with pytest.raises(BudgetReached) as info:
            await sh.process_raster(request, spending=spending)
        spent = await _spent(admin) - before
    pool.shutdown()
    assert spending.answered == 2 and spending.pending == 0
    assert info.value.processing_units == pytest.approx(spending.spent) and spending.spent == pytest.approx(spent, rel=1e-6)
    assert spent <= 2.5 * per_tile


async def test_a_byoc_load_is_priced_exactly_from_the_catalog(emulator_url):
    """The Catalog lists the caller's own BYOC tiles: the estimate counts their dates (exact).
    (Another account's collection is refused by the Catalog, tests/emulator/test_byoc.py, and
    then priced at one acquisition a day, test_a_collection_the_catalog_does_not_list_...)."""
    from executor_svc.costs.estimate import estimate_plan
    from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient
    from sentinelhub_emulator import byoc

    def byoc_plan(collection_id: str, band: str):
        plan = _plan(300, 200, bands=(band,))
        load = plan.loads[0]
        load.sh_type = f"byoc-{collection_id}"
        load.temporal, load.time_from, load.time_to = True, "2020-06-01T00:00:00Z", "2021-06-30T23:59:59Z"
        load.bbox.CopyFrom(compiler_pb2.BoundingBox(west=500000, south=5198000, east=503000, north=5200000,
                                                    epsg=32633))
        return plan

    own = byoc_plan(byoc.LANDCOVER_ID, "LC")
    config = ClientConfig(deployment=Deployment.emulator(emulator_url), client_id="demo-client",
                          client_secret="demo-secret")
    pool = ThreadPoolExecutor(1)
    async with SentinelHubClient(config, executor=pool) as sh:
        estimate = await estimate_plan(own, sh, token=None, batch_job=True)
    pool.shutdown()
    sensing = [t["sensingTime"][:10] for t in byoc.tiles(byoc.LANDCOVER_ID)
               if "2020-06-01" <= t["sensingTime"][:10] <= "2021-06-30"]
    assert estimate.exact and not estimate.reason and len(sensing) == 1
    requests = planned_requests(own, split_threshold=2500, tile_size=2048, batch_job=True)
    assert estimate.processing_units == pytest.approx(requests_pu(requests, [load_cost(own.loads[0])], [1]))
