"""resample_spatial / resample_cube_spatial on chunked cubes warp destination block by destination
block, each from only the source window it reads, and give the eager whole-grid warp's values.

Tolerance: same-CRS changes of resolution by an integer factor are equal bit for bit; elsewhere a
value may differ by one float32 ulp (the source pixel positions are computed from the block's
origin instead of the grid's, rounding differently in the last bit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from executor_svc.processes import REGISTRY, ExecutionContext, ProcessError
from executor_svc.processes.limits import RunBudget, RunLimits
from executor_svc.processes import resample as resample_module
from executor_svc.processes.resample import resample_cube_spatial, resample_spatial

NY, NX, CHUNK = 200, 300, 64


def cube(ny=NY, nx=NX, res=10.0, x0=500000.0, y0=5000000.0, seed=5):
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, size=(2, 2, ny, nx)).astype(np.float32)
    values[0, 1, 50:61, 70:93] = np.nan  # no-data inside a block and across block borders
    return xr.DataArray(values, dims=("t", "bands", "y", "x"),
                        coords={"t": pd.date_range("2024-05-01", periods=2, freq="5D").values,
                                "bands": ["B04", "B08"], "y": y0 - res * np.arange(ny) - res / 2,
                                "x": x0 + res * np.arange(nx) + res / 2}, attrs={"crs": 32633})


def assert_same_values(lazy: xr.DataArray, eager: xr.DataArray, exact: bool) -> None:
    """The same labels and NaNs; values equal, or within one float32 ulp."""
    assert lazy.dims == eager.dims and lazy.shape == eager.shape
    np.testing.assert_array_equal(lazy.x.values, eager.x.values)
    np.testing.assert_array_equal(lazy.y.values, eager.y.values)
    a, b = lazy.values, eager.values
    assert a.dtype == b.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    assert np.isfinite(b).mean() > 0.3
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_array_max_ulp(a[~np.isnan(a)], b[~np.isnan(b)], maxulp=1)


@pytest.fixture
def warps(monkeypatch):
    """Records the (height, width) of the source planes each GDAL warp receives."""
    shapes = []
    original = resample_module.warp_planes

    def recording(src, *args, **kwargs):
        shapes.append(src.shape[-2:])
        return original(src, *args, **kwargs)

    monkeypatch.setattr(resample_module, "warp_planes", recording)
    return shapes


CASES = {
    "half resolution": dict(resolution=20),
    "a third coarser": dict(resolution=13),
    "twice finer": dict(resolution=5),
    "UTM to EPSG:4326": dict(projection=4326),
    "UTM to EPSG:4326, coarser": dict(projection=4326, resolution=0.0004),
}


@pytest.mark.parametrize("method", ["near", "bilinear", "average", "sum"])
@pytest.mark.parametrize("case", list(CASES))
def test_chunked_resample_spatial_equals_the_eager_warp_block_by_block(case, method, warps, cube_mode):
    data = cube()
    eager = resample_spatial({"data": data, "method": method, **CASES[case]}, ExecutionContext())
    assert eager.chunks is None and warps == [(NY, NX)]  # one warp of the whole grid
    warps.clear()
    chunked = data.chunk({"t": 1, "y": CHUNK, "x": CHUNK})
    # through the registry: in the chunked mode (conftest) a computation inside the process fails
    lazy = REGISTRY.call("resample_spatial", {"data": chunked, "method": method, **CASES[case]}, ExecutionContext())
    assert lazy.chunks is not None and warps == []  # nothing computed yet
    assert lazy.attrs["crs"] == eager.attrs["crs"] and lazy.attrs["resolution"] == eager.attrs["resolution"]
    # no block is the whole plane, and no warp reads the whole source plane
    assert max(lazy.chunks[-2]) < lazy.sizes["y"] and max(lazy.chunks[-1]) < lazy.sizes["x"]
    assert_same_values(lazy, eager, exact=case in ("half resolution", "twice finer"))
    assert len(warps) > 4
    assert max(h * w for h, w in warps) < NY * NX / 4


@pytest.mark.parametrize("x0", [500007.0, 499000.0])  # inside the data; half of it west of the data
def test_chunked_resample_cube_spatial_onto_a_shifted_grid(x0, warps, cube_mode):
    data = cube()
    target = cube(ny=120, nx=170, res=15.0, x0=x0, y0=4999990.0, seed=1)
    eager = resample_cube_spatial({"data": data, "target": target, "method": "bilinear"}, ExecutionContext())
    warps.clear()
    lazy = REGISTRY.call("resample_cube_spatial", {"data": data.chunk({"y": CHUNK, "x": CHUNK}),
                                                   "target": target.chunk({"y": 50, "x": 50}),
                                                   "method": "bilinear"}, ExecutionContext())
    assert lazy.chunks is not None and warps == []
    assert max(lazy.chunks[-1]) < target.sizes["x"]
    np.testing.assert_array_equal(lazy.x.values, target.x.values)
    assert_same_values(lazy, eager, exact=False)  # computes the blocks once
    assert max(h * w for h, w in warps) < NY * NX / 4
    if x0 < 500000:  # the blocks west of the data are NaN without a warp
        assert len(warps) < np.prod(lazy.data.numblocks)
        assert np.isnan(lazy.values[..., : int((500000 - x0) // 15)]).all()


def test_merge_cubes_of_a_resampled_cube_and_a_cube_chunked_otherwise_stays_lazy(cube_mode):
    data = cube()
    coarse = resample_spatial({"data": data, "resolution": 20, "method": "average"}, ExecutionContext())
    other = (coarse.sel(bands=["B08"]) * 2).assign_coords(bands=["B11"])
    eager = REGISTRY.call("merge_cubes", {"cube1": coarse, "cube2": other}, ExecutionContext())
    lazy_coarse = REGISTRY.call("resample_spatial", {"data": data.chunk({"y": CHUNK, "x": CHUNK}), "resolution": 20,
                                                     "method": "average"}, ExecutionContext())
    lazy = REGISTRY.call("merge_cubes", {"cube1": lazy_coarse, "cube2": other.chunk({"y": 45, "x": 70})},
                         ExecutionContext())
    assert lazy.chunks is not None and list(lazy.bands.values) == ["B04", "B08", "B11"]
    np.testing.assert_array_equal(lazy.values, eager.values)


def test_the_budget_counts_a_chunked_resamples_largest_block():
    data = cube(ny=250, nx=250)  # 4 planes of 2000 x 2000 px at 1.25 m: 64 MB
    ctx = ExecutionContext(budget=RunBudget(RunLimits(max_result_bytes=8_000_000)))
    with pytest.raises(ProcessError) as info:
        resample_spatial({"data": data, "resolution": 1.25}, ctx)
    assert info.value.code == "ProcessGraphComplexity"
    out = resample_spatial({"data": data.chunk({"t": 1, "bands": 1, "y": 100, "x": 100}), "resolution": 1.25}, ctx)
    assert max(out.chunks[-1]) == 100 and out.shape[-1] == 2000  # 40 KB blocks
    # blocks as large as the input's chunks (upsampling): 2 x 2 planes of 250 x 250 px, 1 MB
    small = ExecutionContext(budget=RunBudget(RunLimits(max_result_bytes=800_000)))
    with pytest.raises(ProcessError):
        resample_spatial({"data": data.chunk({"y": 250, "x": 250}), "resolution": 1.25}, small)
    resample_spatial({"data": data.chunk({"t": 1, "y": 250, "x": 250}), "resolution": 1.25}, small)


def test_planes_beyond_a_geotiffs_band_limit_are_warped_in_batches(monkeypatch):
    from executor_svc.processes import _warp

    data = cube(ny=40, nx=60)  # 4 planes
    whole = resample_spatial({"data": data, "resolution": 20, "method": "bilinear"}, ExecutionContext())
    monkeypatch.setattr(_warp, "_MAX_PLANES", 3)
    batched = resample_spatial({"data": data, "resolution": 20, "method": "bilinear"}, ExecutionContext())
    np.testing.assert_array_equal(batched.values, whole.values)
    assert np.isfinite(batched.values[1, 1]).all()  # the fourth plane, warped in the second batch
