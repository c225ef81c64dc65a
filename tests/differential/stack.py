"""What the differential tests share: the real emulator (a subprocess, one per test module) and the
executor's real `PlanRunner` against it, a graph compiled twice with different compiler options,
a plan run, and the comparison of the two result cubes. The fixtures are registered by conftest.py."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import xarray as xr

from backend_proto.v1 import common_pb2, compiler_pb2
from compiler_svc import compilation
from devstack.emulator import running_emulator
from executor_svc.runner import PlanRunner


@pytest.fixture(scope="module")
def emulator_url(tmp_path_factory):
    with running_emulator(tmp_path_factory.mktemp("emulator") / "emulator.log") as emulator:
        yield emulator.url


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(4) as p:
        yield p


@pytest.fixture
async def runner(emulator_url, pool):
    from executor_svc.sentinelhub import ClientConfig, Deployment, SentinelHubClient

    config = ClientConfig(deployment=Deployment.emulator(emulator_url), client_id="demo-client", client_secret="demo-secret")
    async with SentinelHubClient(config, executor=pool) as sh:
        yield PlanRunner(sh, pool)


def ref(node: str) -> dict:
    return {"from_node": node}


async def _no_udps(_udp_id):
    return None


async def compile_twice(g: dict, first: dict, second: dict):
    """The sync plans of process graph `g` compiled with the keyword arguments `first`, then `second`."""
    process_json = json.dumps({"process_graph": g})
    kw = dict(purpose=compiler_pb2.PURPOSE_SYNC)
    return (await compilation.compile_process(process_json, _no_udps, **first, **kw),
            await compilation.compile_process(process_json, _no_udps, **second, **kw))


async def run(runner: PlanRunner, plan):
    """The run's outcome (value: the result cube, processing_units, ...)."""
    outcome = await runner.run(plan, common_pb2.User(user_id="basic~differential"))
    assert isinstance(outcome.value, xr.DataArray)
    return outcome


def assert_same_cube(got: xr.DataArray, want: xr.DataArray, *, rtol: float, atol: float) -> None:
    """`got` equals `want` as an openEO cube: dims, labels, CRS, NaN positions, values within the
    tolerance; `want` must have a value somewhere, or the comparison would compare nothing."""
    assert got.dims == want.dims, (got.dims, want.dims)
    assert got.shape == want.shape
    for dim in want.dims:
        np.testing.assert_array_equal(got.coords[dim].values, want.coords[dim].values, err_msg=f"labels of {dim}")
    assert got.attrs.get("crs") == want.attrs.get("crs"), ("CRS differs", got.attrs.get("crs"), want.attrs.get("crs"))
    g = np.asarray(got.values, dtype=np.float64)
    w = np.asarray(want.values, dtype=np.float64)
    assert np.isfinite(w).any(), "the reference result is all NaN: the case compares nothing"
    np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg="NaN positions differ")
    np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
