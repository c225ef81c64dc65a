"""The differential tests' cube comparison (tests/differential/stack.py) catches each kind of difference."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from .stack import assert_same_cube


def cube(values, times=("2024-06-01", "2024-06-06"), crs="EPSG:32633"):
    return xr.DataArray(np.asarray(values, dtype=np.float32), dims=("t", "x"),
                        coords={"t": np.array(times, dtype="datetime64[ns]"), "x": [0.5, 1.5]}, attrs={"crs": crs})


WANT = [[0.25, np.nan], [0.5, 0.75]]


def test_equal_within_tolerance_passes():
    assert_same_cube(cube([[0.25 + 1e-7, np.nan], [0.5, 0.75]]), cube(WANT), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("got,match", [
    (cube(WANT).transpose("x", "t"), r"\('x', 't'\)"),
    (cube(WANT, times=("2024-06-01", "2024-06-07")), "labels of t"),
    (cube(WANT, crs="EPSG:4326"), "CRS differs"),
    (cube([[0.25, 0.1], [0.5, 0.75]]), "NaN positions differ"),
    (cube([[0.25, np.nan], [0.5, 0.76]]), "Not equal to tolerance"),
])
def test_each_difference_fails(got, match):
    with pytest.raises(AssertionError, match=match):
        assert_same_cube(got, cube(WANT), rtol=2e-6, atol=1e-6)


def test_an_all_nan_reference_compares_nothing_and_fails():
    nan = [[np.nan, np.nan], [np.nan, np.nan]]
    with pytest.raises(AssertionError, match="compares nothing"):
        assert_same_cube(cube(nan), cube(nan), rtol=2e-6, atol=1e-6)
