"""`sum`, `mean` and `median` over a cube's dimension: float64 accumulation at the output's size,
float32 answers for float32 input, openEO's no-data rules, and no temporary of the input's size."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
import xarray as xr

from executor_svc.processes import REGISTRY, ExecutionContext
from executor_svc.processes.reducers import sum_and_count


def call(pid, **args):
    return REGISTRY.call(pid, args, ExecutionContext())


def reduce(cube, pid, dimension, **reducer_args):
    return call("reduce_dimension", data=cube, dimension=dimension,
                reducer=lambda data, context=None: call(pid, data=data, **reducer_args))


def cube(values):
    values = np.asarray(values, dtype=np.float32)
    return xr.DataArray(values, dims=("bands", "y", "x"), coords={"bands": [f"B{i}" for i in range(values.shape[0])]})


# one pixel of every no-data case: no value valid, one valid, all valid (with a negative)
VALUES = [[[np.nan, 1.5, 2.0]], [[np.nan, np.nan, -4.0]], [[np.nan, np.nan, 0.5]]]


@pytest.mark.parametrize("pid, ignore, expected", [
    ("mean", True, [np.nan, 1.5, -0.5]),
    ("mean", False, [np.nan, np.nan, -0.5]),
    ("sum", True, [np.nan, 1.5, -1.5]),  # nothing to add up is no-data, not 0
    ("sum", False, [np.nan, np.nan, -1.5]),
])
def test_no_data_rules(pid, ignore, expected):
    out = reduce(cube(VALUES), pid, "bands", ignore_nodata=ignore)
    assert out.dims == ("y", "x") and out.dtype == np.float32
    np.testing.assert_array_equal(out.values[0], np.array(expected, dtype=np.float32))


@pytest.mark.parametrize("pid", ["sum", "mean"])
def test_float32_input_accumulates_in_float64(pid):
    # 20,001 float32 values along the axis: 1.0 then 0.0001 20,000 times. A float32 running sum
    # stalls at 1.0 (0.0001 is below half its spacing there); in float64 the sum is 3.0.
    n = 20_001
    values = np.full((n, 1, 2), 1e-4, dtype=np.float32)
    values[0] = 1.0
    out = reduce(xr.DataArray(values, dims=("t", "y", "x")), pid, "t")
    exact = 1.0 + (n - 1) * float(np.float32(1e-4))
    expected = exact / n if pid == "mean" else exact
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.values, np.float32(expected), rtol=1e-6)


@pytest.mark.parametrize("pid", ["sum", "mean"])
def test_float64_stays_float64(pid):
    values = np.array([[[0.1]], [[0.2]], [[1e-17]]])
    out = reduce(xr.DataArray(values, dims=("bands", "y", "x")), pid, "bands")
    assert out.dtype == np.float64
    expected = 0.1 + 0.2 + 1e-17
    assert out.values[0, 0] == pytest.approx(expected / 3 if pid == "mean" else expected, rel=1e-15)


def test_a_long_axis_counts_beyond_one_byte():
    values = np.full((300, 2, 2), 2.0, dtype=np.float32)
    values[:120, 0, 0] = np.nan
    out = reduce(xr.DataArray(values, dims=("t", "y", "x")), "sum", "t")
    np.testing.assert_array_equal(out.values, [[360.0, 600.0], [600.0, 600.0]])


@pytest.mark.parametrize("ignore", [True, False])
def test_no_temporary_of_the_inputs_size(ignore):
    # What `sum` and `mean` run on each chunk (on the whole array when eager), with 16 float32
    # values per output pixel: the input is 64 bytes per pixel; the float64 total, the count and
    # the NaN masks are 11 bytes. NumPy's nansum/nanmean would copy the input (64) and mask it
    # (16) on top. (Measured on the function: a chunked test cube's source copies its chunks.)
    values = np.random.default_rng(1).uniform(size=(16, 256, 256)).astype(np.float32)
    values[3, :10] = np.nan
    tracemalloc.start()
    try:
        total, valid = sum_and_count(np.moveaxis(values, 0, -1), -1, ignore)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total.dtype == np.float64 and total.shape == (256, 256)
    assert (valid[:10] == 15).all() and (valid[10:] == 16).all()
    assert np.isnan(total[:10]).all() != ignore
    assert peak < values.nbytes / 4, f"peak {peak / 2**20:.2f} MiB for a {values.nbytes / 2**20:.1f} MiB input"


def test_median_matches_numpy_for_every_count_of_valid_values(cube_mode):
    # 7 values per pixel, 0 to 7 of them no-data, infinities among them: odd and even counts
    rng = np.random.default_rng(4)
    values = rng.normal(size=(7, 8, 16)).astype(np.float32)
    values[:, 0, :4] = [[np.inf], [-np.inf], [1.0], [np.inf], [2.0], [-3.0], [0.5]]
    for x in range(16):
        values[rng.permutation(7)[: x % 8], 1:, x] = np.nan
    out = reduce(xr.DataArray(values, dims=("t", "y", "x")), "median", "t")
    assert out.dtype == np.float32
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns of the all-no-data pixels
        expected = np.nanmedian(values.astype(np.float64), axis=0).astype(np.float32)
    np.testing.assert_array_equal(out.values, expected)
    assert np.isnan(out.values[1:, 7]).all() and not np.isnan(out.values[1:, 6]).any()


@pytest.mark.parametrize("pid", ["sum", "mean", "median"])
def test_one_value_along_the_dimension_is_the_answer(pid, cube_mode):
    # e.g. a period of aggregate_temporal_period with one date
    out = reduce(cube([[[np.nan, 2.5, -0.0]]]), pid, "bands")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.values, np.array([[np.nan, 2.5, -0.0]], dtype=np.float32))
    monthly = call("aggregate_temporal_period", period="month", reducer=lambda data, context=None: call(pid, data=data),
                   data=xr.DataArray(np.arange(4, dtype=np.float32).reshape(4, 1), dims=("t", "x"),
                                     coords={"t": np.array(["2024-01-05", "2024-02-05", "2024-02-20", "2024-03-01"],
                                                           dtype="datetime64[ns]")}))
    expected = {"sum": [0, 3, 3], "mean": [0, 1.5, 3], "median": [0, 1.5, 3]}[pid]
    np.testing.assert_array_equal(monthly.values[:, 0], np.array(expected, dtype=np.float32))
