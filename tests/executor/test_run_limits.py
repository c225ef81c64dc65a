"""The run budget (executor_svc/processes/limits.py): sizes checked before allocating, every
result bounded, a deadline for synchronous runs, cancellation between nodes."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import xarray as xr

from executor_svc.graph import GraphEvaluator
from executor_svc.processes import ExecutionContext, ProcessError
from executor_svc.processes.limits import Cancelled, RunBudget, RunLimits
from tests.graph_runner import evaluate


def ctx(**limits) -> ExecutionContext:
    return ExecutionContext(budget=RunBudget(RunLimits(**limits)))


def cube(n=64) -> xr.DataArray:
    y, x = np.arange(n) * -10.0 + 5_000_000, np.arange(n) * 10.0 + 500_000
    return xr.DataArray(np.ones((n, n), dtype=np.float32), dims=("y", "x"), coords={"y": y, "x": x}, attrs={"crs": 32633})


def test_array_create_checks_its_size_before_allocating():
    graph = {"n": {"process_id": "multiply", "arguments": {"x": 100_000, "y": 100_000}},
             "a": {"process_id": "array_create", "arguments": {"data": [1, 2], "repeat": {"from_node": "n"}},
                   "result": True}}
    started = time.monotonic()
    with pytest.raises(ProcessError) as info:
        evaluate(graph, ctx=ctx())
    assert info.value.code == "ProcessGraphComplexity" and info.value.node_id == "a"
    assert time.monotonic() - started < 1  # refused, not built
    small = dict(graph, n={"process_id": "add", "arguments": {"x": 1, "y": 2}})
    assert evaluate(small, ctx=ctx()) == [1, 2] * 3


def test_every_result_is_bounded():
    graph = {"c": {"process_id": "apply", "arguments": {"data": {"from_parameter": "cube"}, "process": {"process_graph": {
        "m": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "x"}, "y": 2}, "result": True}}}},
        "result": True}}
    with pytest.raises(ProcessError) as info:
        evaluate(graph, parameters={"cube": cube()}, ctx=ctx(max_result_bytes=1000))
    assert info.value.code == "ProcessGraphComplexity"
    assert float(evaluate(graph, parameters={"cube": cube()}, ctx=ctx()).max()) == 2


def test_kernels_and_resampling_are_checked_before_they_run():
    kernel = {"k": {"process_id": "apply_kernel", "arguments": {"data": {"from_parameter": "cube"},
                                                                "kernel": [[1] * 31 for _ in range(31)]}, "result": True}}
    with pytest.raises(ProcessError) as info:
        evaluate(kernel, parameters={"cube": cube()}, ctx=ctx(max_kernel_elements=30 * 30))
    assert info.value.code == "ProcessGraphComplexity" and "kernel" in info.value.message
    with pytest.raises(ProcessError):
        evaluate(kernel, parameters={"cube": cube()}, ctx=ctx(max_kernel_operations=31 * 31 * 64 * 64 - 1))
    assert evaluate(kernel, parameters={"cube": cube()}, ctx=ctx()).shape == (64, 64)
    resample = {"r": {"process_id": "resample_spatial", "arguments": {"data": {"from_parameter": "cube"},
                                                                      "resolution": 0.01}, "result": True}}
    with pytest.raises(ProcessError) as info:  # 640 m at 1 cm: 4e9 pixels
        evaluate(resample, parameters={"cube": cube()}, ctx=ctx())
    assert info.value.code == "ProcessGraphComplexity" and "resample_spatial" in info.value.message


def test_a_cancelled_run_stops_at_the_next_node():
    cancel = threading.Event()
    calls = []

    run_ctx = ExecutionContext(budget=RunBudget(RunLimits(), cancel))
    graph = {f"n{i}": {"process_id": "add", "arguments": {"x": {"from_node": f"n{i - 1}"} if i else 0, "y": 1}}
             for i in range(10)}
    order = list(graph)

    from executor_svc.processes import REGISTRY

    registry = REGISTRY.copy()

    def add(args, c):
        calls.append(c.node_id)
        if c.node_id == "n3":
            cancel.set()  # e.g. the client hung up while n3 ran
        return args["x"] + args["y"]

    registry.register("add", add)
    with pytest.raises(Cancelled) as info:
        GraphEvaluator(registry=registry, ctx=run_ctx).run(graph, order, "n9")
    assert calls == ["n0", "n1", "n2", "n3"] and info.value.node_id == "n4"


def test_a_deadline_stops_a_long_run():
    budget = RunBudget(RunLimits(max_seconds=0.05))
    kernel = {"k": {"process_id": "apply_kernel", "arguments": {"data": {"from_parameter": "cube"},
                                                                "kernel": [[1] * 31 for _ in range(31)]}, "result": True}}
    started = time.monotonic()
    with pytest.raises(ProcessError) as info:
        evaluate(kernel, parameters={"cube": cube(4000)}, ctx=ExecutionContext(budget=budget))
    assert info.value.code == "ProcessGraphComplexity" and "longer than" in info.value.message
    # checked between bands of kernel rows (about 0.2 s each here), not after the whole kernel
    # (about 1.5e10 weighted sums, over 10 s even on an idle host)
    assert time.monotonic() - started < 5
