"""Issue 19 'done when': a batch job of a graph that cannot be pushed down (monthly
`aggregate_temporal_period` mean → 5×5 `apply_kernel` → band mean) runs on a local stack with a
dask scheduler and two dask workers (`DASK_WORKERS=2`), chunks much smaller than the cube, and its
pixels equal an eager computation of the same graph on the same input with the executor's
process library on numpy."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from devstack.stack import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Stack, StackConfig

BBOX = {"west": 14.00, "south": 46.00, "east": 14.03, "north": 46.02}
MONTHS = ["2024-05-01", "2024-07-31"]
KERNEL = [[1, 2, 3, 2, 1], [2, 4, 6, 4, 2], [3, 6, 9, 6, 3], [2, 4, 6, 4, 2], [1, 2, 3, 2, 0]]


@pytest.fixture(scope="module")
def dask_stack(tmp_path_factory):
    config = StackConfig.free_ports(
        tmp_path_factory.mktemp("dask-stack"), executors=1, dask_workers=2, echo=False,
        # every cube run chunked, in chunks of 64 px (the cube is about 230 x 220 px)
        extra_env={"DASK_MIN_VALUES": "1", "DASK_CHUNK_PX": "64", "EXECUTOR_POLL_SECONDS": "0.5"})
    with Stack(config) as running:
        yield running


def _connection(stack):
    import openeo

    con = openeo.connect(stack.gateway_url)
    con.authenticate_basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    return con


def _download(job, tmp_path, name) -> xr.Dataset:
    job.start_and_wait(max_poll_interval=1, print=lambda *a, **k: None)
    assert job.status() == "finished", job.logs()
    files = [f for f in job.get_results().download_files(tmp_path / name) if str(f).endswith(".nc")]
    assert len(files) == 1, files
    return xr.open_dataset(files[0], engine="h5netcdf").load()


def test_a_non_pushdown_batch_job_on_two_dask_workers_equals_the_eager_computation(dask_stack, tmp_path):
    con = _connection(dask_stack)
    raw = con.load_collection("SENTINEL2_L2A", spatial_extent=BBOX, temporal_extent=MONTHS, bands=["B04", "B08"])
    graph = (raw.aggregate_temporal_period("month", reducer="mean")
             .apply_kernel(KERNEL, factor=1 / 80)
             .reduce_dimension(dimension="bands", reducer="mean"))
    result = _download(graph.save_result("netCDF").create_job(title="dask"), tmp_path, "result")
    inputs = _download(raw.save_result("netCDF").create_job(title="input"), tmp_path, "input")

    # the distributed path ran: the executor logged a chunked run on the cluster
    log = (dask_stack.logs_dir / "executor.log").read_text()
    assert '"run_chunked"' in log and '"cluster": true' in log

    from executor_svc.processes import REGISTRY, ExecutionContext

    cube = xr.concat([inputs["B04"], inputs["B08"]], dim="bands").assign_coords(bands=["B04", "B08"])
    cube = cube.transpose("t", "bands", "y", "x").drop_vars("spatial_ref", errors="ignore")
    cube.attrs = {"crs": 32633}
    assert cube.sizes["x"] > 3 * 64 and cube.sizes["y"] > 3 * 64 and cube.sizes["t"] > 3
    ctx = ExecutionContext()
    mean = lambda data, context=None: REGISTRY.call("mean", {"data": data}, ctx)  # noqa: E731
    monthly = REGISTRY.call("aggregate_temporal_period", {"data": cube, "period": "month", "reducer": mean}, ctx)
    kernel = REGISTRY.call("apply_kernel", {"data": monthly, "kernel": KERNEL, "factor": 1 / 80}, ctx)
    expected = REGISTRY.call("reduce_dimension", {"data": kernel, "dimension": "bands", "reducer": mean}, ctx)

    (name,) = list(result.data_vars)
    got = result[name].transpose("t", "y", "x").values
    assert got.shape == expected.transpose("t", "y", "x").shape == (3, cube.sizes["y"], cube.sizes["x"])
    np.testing.assert_allclose(got, expected.transpose("t", "y", "x").values, rtol=1e-5, atol=1e-6)
