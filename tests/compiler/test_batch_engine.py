"""Engine choice for batch jobs: Sentinel Hub's Batch Processing API for loads larger than one
Process API request, with its tiling grid; no size cap for what the Batch API runs."""
import time

import pytest

from backend_proto.v1 import compiler_pb2
from compiler_svc import compilation
from compiler_svc.config import PlanningSettings
from compiler_svc.planning.batch_engine import choose_grid
from compiler_svc.problems import ProblemError
from tests.compiler.conftest import BBOX, FakeStore, as_json, load, reducer, save

# about 200,000 x 200,000 px at 10 m near the equator
CONTINENT = {"west": 10.0, "south": 0.0, "east": 28.0, "north": 18.0}


def ndvi_composite(extent, fmt="GTiff"):
    return {"l": load(extent=extent), "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}},
            "m": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "n"}, "dimension": "t",
                                                                  "reducer": reducer("max")}},
            "s": save("m", fmt)}


async def compile_(graph, purpose=compiler_pb2.PURPOSE_BATCH, **settings):
    return await compilation.compile_process(as_json(graph), FakeStore(), purpose=purpose,
                                             settings=PlanningSettings(**settings))


@pytest.mark.parametrize("resolution, expected", [
    (10.0, (1, 10.0)), (15.0, (1, 10.0)), (20.0, (1, 20.0)), (25.0, (1, 20.0)), (30.0, (0, 30.0)),
    (60.0, (0, 60.0)), (100.0, (0, 60.0)), (400.0, (2, 360.0)), (5.0, (1, 10.0)),
])
def test_grid_is_the_finest_resolution_not_above_the_loads(resolution, expected):
    assert choose_grid(resolution) == expected


async def test_continental_ndvi_composite_goes_to_the_batch_api_and_is_estimated_fast():
    started = time.perf_counter()
    plan = await compile_(ndvi_composite(CONTINENT))
    elapsed = time.perf_counter() - started
    (ld,) = plan.loads
    assert ld.width * ld.height > 50_000 * 50_000 * 10  # far above the executor's own cap
    assert plan.HasField("batch_api")
    assert (plan.batch_api.grid_id, plan.batch_api.resolution) == (1, 10.0)
    # ~2000 km square in 10 km tiles
    assert 38_000 <= plan.batch_api.estimated_tiles <= 42_000
    assert plan.batch_api.estimated_processing_units > 100
    assert plan.estimated_processing_units == plan.batch_api.estimated_processing_units  # GET /jobs/{id}/estimate
    assert elapsed < 5.0


async def test_small_jobs_and_sync_requests_stay_on_the_process_api():
    assert not (await compile_(ndvi_composite(BBOX))).HasField("batch_api")
    g = ndvi_composite({"west": 16.0, "south": 48.0, "east": 16.5, "north": 48.5})  # ~3500 x 5500 px
    assert (await compile_(g)).HasField("batch_api")
    assert not (await compile_(g, batch_api_min_pixels=0)).HasField("batch_api")
    assert not (await compile_(g, purpose=compiler_pb2.PURPOSE_BATCH,
                               batch_api_min_pixels=10_000 * 10_000)).HasField("batch_api")
    assert not (await compile_(ndvi_composite({"west": 16.0, "south": 48.0, "east": 16.5, "north": 48.5}, "netCDF"))
                ).HasField("batch_api")


async def test_kernels_get_a_tile_buffer_of_their_reach():
    kernel3 = [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
    kernel5 = [[1] * 5 for _ in range(5)]
    g = {"l": load(extent=CONTINENT), "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}},
         "k": {"process_id": "apply_kernel", "arguments": {"data": {"from_node": "n"}, "kernel": kernel3}},
         "k2": {"process_id": "apply_kernel", "arguments": {"data": {"from_node": "k"}, "kernel": kernel5}},
         "s": save("k2")}
    plan = await compile_(g)
    assert plan.HasField("batch_api") and plan.batch_api.buffer_px == 1 + 2
    assert plan.loads[0].width * plan.loads[0].height > 50_000 * 50_000  # no cap: the Batch API runs it


async def test_a_graph_the_batch_api_cannot_run_keeps_the_size_cap():
    g = {"l": load(extent=CONTINENT), "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}},
         "m": {"process_id": "reduce_dimension", "arguments": {"data": {"from_node": "n"}, "dimension": "x",
                                                               "reducer": reducer("max")}},
         "s": save("m")}
    with pytest.raises(ProblemError) as info:
        await compile_(g)
    assert info.value.problem.code == "ProcessGraphComplexity" and "too large" in info.value.problem.message
