"""The dask engine: a large cube run is chunked (memory-mapped load, chunks much smaller than the
cube), its non-pushdown graph (monthly mean → 5×5 kernel → band mean) computed by the local
scheduler and by a dask.distributed cluster of two worker processes, and its file equals the
eager run's; small runs stay eager; a cancelled chunked run stops."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import xarray as xr

from compiler_svc.output_formats import output_format
from executor_svc.dask_engine import DaskEngine, DaskSettings
from executor_svc.encoding import encode_result
from executor_svc.runner import PlanRunner
from tests.executor.fakes import FakeRaster, ndvi_plan, plan_for_graph, synthetic_band

DATES = ["2024-04-03T10:00:00Z", "2024-04-20T10:00:00Z", "2024-05-03T10:00:00Z", "2024-05-13T10:00:00Z",
         "2024-06-02T10:00:00Z", "2024-06-22T10:00:00Z"]
KERNEL = [[float((i * 5 + j) % 7 - 3) for j in range(5)] for i in range(5)]

GRAPH = {
    "load1": {"process_id": "load_collection", "arguments": {"id": "SENTINEL2_L2A"}},
    "monthly": {"process_id": "aggregate_temporal_period", "arguments": {
        "data": {"from_node": "load1"}, "period": "month",
        "reducer": {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}},
                                            "result": True}}}}},
    "kernel": {"process_id": "apply_kernel", "arguments": {"data": {"from_node": "monthly"}, "kernel": KERNEL,
                                                           "factor": 0.1, "border": "replicate"}},
    "bands": {"process_id": "reduce_dimension", "arguments": {
        "data": {"from_node": "kernel"}, "dimension": "bands",
        "reducer": {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}},
                                            "result": True}}}}},
    "save": {"process_id": "save_result", "arguments": {"data": {"from_node": "bands"}, "format": "netCDF"},
             "result": True},
}


class SixDates:
    """Sentinel Hub double: six dates over three months, a no-data value and a gap."""

    def __init__(self):
        self.config = None
        self.sinks = []

    async def process_raster(self, request, *, token=None, deployment=None, output_id="default", sink=None, spending=None):
        h, w = request["output"]["height"], request["output"]["width"]
        data = np.stack([synthetic_band(b, d, h, w) for d in range(len(DATES)) for b in ("B04", "B08")])
        data[:, 3:9, 5:12] = -9999.0
        if sink is not None:  # as the real client does: the raster assembled into the caller's sink
            self.sinks.append(sink)
            sink.allocate(*data.shape, data.dtype)
            sink.write(0, 0, data)
            data = sink.result()
        return FakeRaster(data, {"dates": DATES, "bands": ["B04", "B08"]}, 1.0, nodata=-9999.0)


def plan(fmt="netCDF", width=61, height=47):
    base = ndvi_plan(width=width, height=height)
    load = base.loads[0]
    load.time_from, load.time_to = "2024-04-01T00:00:00Z", "2024-06-30T23:59:59Z"
    return plan_for_graph(GRAPH, "save", [load], output_format(fmt, {}))


def run(engine, tmp_path, name, the_plan=None):
    the_plan = the_plan or plan()
    pool = ThreadPoolExecutor(2)
    runner = PlanRunner(SixDates(), pool, engine=engine)
    seen = {}

    def finish(value, output, options):
        seen["chunked"] = value.chunks is not None
        return encode_result(value, output, options, tmp_path / name)

    try:
        outcome = asyncio.run(runner.run(the_plan, None, finish=finish))
    finally:
        pool.shutdown()
    with xr.open_dataset(outcome.finished[0].path, engine="h5netcdf") as ds:
        return ds.load(), seen["chunked"], runner


@pytest.fixture
def eager(tmp_path):
    return run(None, tmp_path, "eager")[0]


def local_engine(tmp_path, **kw):
    engine = DaskEngine(DaskSettings(threads=2, chunk_px=16, min_values=0, **kw), str(tmp_path / "work"))
    engine.start()
    return engine


def test_a_large_run_is_chunked_and_equals_the_eager_run(tmp_path, eager):
    engine = local_engine(tmp_path)
    result, chunked, runner = run(engine, tmp_path, "chunked")
    assert chunked  # 61 x 47 px in chunks of 16 px: every kernel crosses chunk borders
    assert list(result.data_vars) == list(eager.data_vars) and result.sizes["t"] == 3
    for name in eager.data_vars:
        np.testing.assert_allclose(result[name].values, eager[name].values, rtol=2e-6, atol=1e-7)
        assert np.isnan(result[name].values).sum() == np.isnan(eager[name].values).sum()
    assert not list((tmp_path / "work").glob("load-*.npy"))  # the mapped load leaves no file behind


def test_small_runs_stay_eager(tmp_path):
    engine = DaskEngine(DaskSettings(min_values=10 ** 9), str(tmp_path))
    assert not engine.wants(plan())
    assert DaskEngine(DaskSettings(min_values=61 * 47 * 2 * 18), str(tmp_path)).wants(plan())
    _, chunked, _ = run(engine, tmp_path, "small")
    assert not chunked


def test_a_cancelled_chunked_run_stops_between_chunks(tmp_path):
    engine = local_engine(tmp_path)
    budget_cancel = threading.Event()
    budget_cancel.set()
    array = np.zeros((2, 40, 40), dtype=np.float32)
    from executor_svc.processes.limits import Cancelled, RunBudget

    lazy = engine.to_dask(RunBudget(cancel=budget_cancel))(array)
    with pytest.raises(Cancelled):
        lazy.sum().compute()


def test_the_graph_runs_on_a_cluster_of_two_workers(tmp_path, eager):
    import distributed  # an executor dependency: its absence is a failure, not a skip
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  memory_limit="1GiB") as cluster:
        engine = local_engine(tmp_path, scheduler_address=cluster.scheduler_address)
        try:
            result, chunked, _ = run(engine, tmp_path, "cluster")
            workers = engine.client.run(lambda dask_worker: dask_worker.state.executed_count)
        finally:
            engine.close()
    assert chunked
    assert len(workers) == 2 and all(n > 0 for n in workers.values())  # both workers computed tasks
    for name in eager.data_vars:
        np.testing.assert_allclose(result[name].values, eager[name].values, rtol=2e-6, atol=1e-7)


def test_a_raster_file_is_read_by_window(tmp_path):
    from executor_svc.dask_engine import FileRaster

    values = np.arange(3 * 17 * 23, dtype=np.float32).reshape(3, 17, 23)
    np.save(tmp_path / "r.npy", values)
    raster = FileRaster.open(str(tmp_path / "r.npy"))
    assert raster.shape == (3, 17, 23) and raster.dtype == np.float32
    np.testing.assert_array_equal(raster[1:3, 4:11, 20:30], values[1:3, 4:11, 20:30])
    np.testing.assert_array_equal(np.asarray(raster), values)
    with pytest.raises(IndexError):
        raster[0, ::2]


def test_an_unreachable_cluster_leaves_the_local_scheduler(tmp_path):
    from devstack.processes import free_port

    engine = DaskEngine(DaskSettings(scheduler_address=f"tcp://127.0.0.1:{free_port()}", min_values=0,
                                     connect_seconds=2), str(tmp_path))
    engine.start()
    assert engine.client is None
    assert engine.localize(xr.DataArray(np.zeros((2, 2)), dims=("y", "x")).chunk(1)).chunks is not None
