"""Chunked cubes beyond the eager/chunked runs of every process test (conftest.py): kernels equal
bit for bit across chunk borders, float32 stays float32, and the run budget counts a chunked
cube's chunks, not its whole size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from executor_svc.processes import REGISTRY, ExecutionContext, ProcessError
from executor_svc.processes.limits import RunBudget, RunLimits


def cube(dtype=np.float32, nt=6, ny=23, nx=29, seed=3):
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, size=(nt, 2, ny, nx)).astype(dtype)
    values[0, 0, 5:8, 11:14] = np.nan
    return xr.DataArray(values, dims=("t", "bands", "y", "x"),
                        coords={"t": pd.date_range("2024-01-05", periods=nt, freq="17D").values,
                                "bands": ["B04", "B08"], "y": 5e6 - 10 * np.arange(ny) - 5,
                                "x": 5e5 + 10 * np.arange(nx) + 5}, attrs={"crs": 32633})


def call(pid, ctx=None, **args):
    return REGISTRY.call(pid, args, ctx or ExecutionContext())


KERNEL = (np.arange(25, dtype=float).reshape(5, 5) - 12) / 7


@pytest.mark.parametrize("border", [0, 3.5, "replicate", "reflect", "reflect_pixel", "wrap"])
def test_kernel_values_are_identical_across_chunk_borders(border, cube_mode):
    eager = cube(np.float64)
    out_eager = call("apply_kernel", data=eager, kernel=KERNEL.tolist(), factor=0.5, border=border)
    chunked = eager.chunk({"y": 7, "x": 6, "t": 4})  # borders inside the kernel's reach everywhere
    out = call("apply_kernel", data=chunked, kernel=KERNEL.tolist(), factor=0.5, border=border)
    assert out.chunks is not None
    np.testing.assert_array_equal(out.values, out_eager.values)
    # and the kernel's orientation: rows north → south, against a direct sum at one pixel
    pad = eager.isel(t=1, bands=0).values
    y, x = 10, 12
    expected = 0.5 * sum(KERNEL[i, j] * pad[y + i - 2, x + j - 2] for i in range(5) for j in range(5))
    assert out.isel(t=1, bands=0).values[y, x] == pytest.approx(expected, rel=1e-12)


_NP_PAD = {"replicate": "edge", "reflect": "symmetric", "reflect_pixel": "reflect", "wrap": "wrap"}


def _direct_kernel(plane, kernel, factor, border, replace_invalid):
    """The definition's weighted sum, written out: no-data and infinities replaced, the border
    filled as np.pad fills it, kernel row 0 on the row north of the centre."""
    plane = np.where(np.isfinite(plane), plane, replace_invalid)
    kh, kw = kernel.shape
    pad = [(kh // 2, kh // 2), (kw // 2, kw // 2)]
    padded = np.pad(plane, pad, mode="constant", constant_values=border) if not isinstance(border, str) \
        else np.pad(plane, pad, mode=_NP_PAD[border])
    out = np.zeros(plane.shape)
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * padded[i:i + plane.shape[0], j:j + plane.shape[1]]
    return out * factor


@pytest.mark.parametrize("border", [0, -2.5, "replicate", "reflect", "reflect_pixel", "wrap"])
@pytest.mark.parametrize("ny, nx, kernel_side", [(23, 29, 5), (3, 4, 7)])  # (3, 4, 7): wider than the cube
def test_kernel_equals_the_definitions_sum_in_every_border_mode(border, ny, nx, kernel_side, cube_mode):
    data = cube(np.float32, nt=2, ny=ny, nx=nx)
    data[1, 1, 1, 2] = np.inf
    kernel = np.random.default_rng(5).uniform(-1, 1, size=(kernel_side, kernel_side))
    if border == "reflect_pixel" and kernel_side > min(ny, nx):
        border = "reflect"  # np.pad's "reflect" needs a cube wider than the margin
    out = call("apply_kernel", data=data, kernel=kernel.tolist(), factor=0.3, border=border, replace_invalid=1.5)
    assert out.dtype == np.float32 and out.dims == data.dims
    for t in range(2):
        for b in range(2):
            expected = _direct_kernel(data.values[t, b].astype(np.float64), kernel, 0.3, border, 1.5)
            np.testing.assert_allclose(out.values[t, b], expected, rtol=2e-6, atol=2e-6)


def test_kernel_bands_of_rows_sum_what_the_whole_slice_sums(monkeypatch, cube_mode):
    # an eager slice is computed in bands of rows (a run's deadline is checked between them)
    from executor_svc.processes import kernel as kernel_module

    data = cube(np.float32, nt=2)
    whole = call("apply_kernel", data=data, kernel=KERNEL.tolist(), factor=0.5, border="reflect")
    monkeypatch.setattr(kernel_module, "_BAND_OPERATIONS", 1)  # bands one margin (2 rows) high
    banded = call("apply_kernel", data=data, kernel=KERNEL.tolist(), factor=0.5, border="reflect")
    np.testing.assert_array_equal(banded.values, whole.values)


def test_float32_stays_float32_through_a_graph(cube_mode):
    data = cube(np.float32).chunk({"y": 8, "x": 8})
    ndvi = call("ndvi", data=data)
    monthly = call("aggregate_temporal_period", data=ndvi, period="month",
                   reducer=lambda data, context=None: call("mean", data=data))
    smooth = call("apply_kernel", data=monthly, kernel=np.ones((5, 5)).tolist(), factor=1 / 25)
    median = call("reduce_dimension", data=data, dimension="t", reducer=lambda data, context=None: call("median", data=data))
    for value in (ndvi, monthly, smooth, median):
        assert value.dtype == np.float32 and value.chunks is not None


def test_the_budget_counts_a_chunked_cubes_chunks():
    big = xr.DataArray(np.zeros((4, 1000, 1000), dtype=np.float32), dims=("t", "y", "x"))
    budget = RunBudget(RunLimits(max_result_bytes=2_000_000))
    with pytest.raises(ProcessError) as info:
        budget.check_result(big, "n")
    assert info.value.code == "ProcessGraphComplexity"
    budget.check_result(big.chunk({"t": 1, "y": 500, "x": 500}), "n")  # 1 MB chunks
    with pytest.raises(ProcessError):
        budget.check_result(big.chunk({"t": 1, "y": 1000, "x": 1000}), "n")  # 4 MB chunks


def test_the_kernel_budget_counts_a_chunked_cubes_largest_chunk():
    big = xr.DataArray(np.zeros((4, 200, 200), dtype=np.float32), dims=("t", "y", "x"),
                       coords={"y": -np.arange(200.0), "x": np.arange(200.0)})
    from executor_svc.processes.kernel import apply_kernel  # directly: not chunked by the conftest's wrapper

    ctx = ExecutionContext(budget=RunBudget(RunLimits(max_kernel_operations=25 * 50_000)))
    kernel = np.ones((5, 5)).tolist()
    with pytest.raises(ProcessError) as info:  # 25 x 160,000 px
        apply_kernel({"data": big, "kernel": kernel}, ctx)
    assert info.value.code == "ProcessGraphComplexity"
    out = apply_kernel({"data": big.chunk({"t": 1, "y": 100, "x": 100}), "kernel": kernel}, ctx)
    assert out.chunks is not None  # 25 x 10,000 px per chunk
