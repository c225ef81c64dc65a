"""Cube process tests on small synthetic DataArrays, checked against independent numpy computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from executor_svc.processes import REGISTRY, ExecutionContext, ProcessError

ctx = ExecutionContext()


def call(pid, **args):
    return REGISTRY.call(pid, args, ctx)


def P(pid, **fixed):
    """A callback running one process, binding callback params by name: P("mean", data="data")."""

    def cb(**params):
        args = {k: (params[v[1:]] if isinstance(v, str) and v.startswith("$") else v) for k, v in fixed.items()}
        return call(pid, **args)

    return cb


def make_cube(nt=4, bands=("B04", "B08", "SCL"), ny=3, nx=4, seed=0, crs=32633):
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, size=(nt, len(bands), ny, nx))
    t = pd.date_range("2021-01-01", periods=nt, freq="10D").values
    x = 500000 + 10 * np.arange(nx) + 5
    y = 5000000 - 10 * np.arange(ny) - 5
    return xr.DataArray(values, dims=("t", "bands", "y", "x"),
                        coords={"t": t, "bands": list(bands), "y": y, "x": x}, attrs={"crs": crs})


def test_ndvi_process_matches_numpy():
    cube = make_cube()
    out = call("ndvi", data=cube)
    red, nir = cube.values[:, 0], cube.values[:, 1]
    assert out.dims == ("t", "y", "x")
    np.testing.assert_allclose(out.values, (nir - red) / (nir + red))
    assert out.attrs["crs"] == 32633


def test_ndvi_target_band_and_errors():
    cube = make_cube()
    out = call("ndvi", data=cube, nir="B08", red="B04", target_band="NDVI")
    assert list(out.bands.values) == ["B04", "B08", "SCL", "NDVI"]
    with pytest.raises(ProcessError) as e:
        call("ndvi", data=cube, target_band="B04")
    assert e.value.code == "BandExists"
    with pytest.raises(ProcessError) as e:
        call("ndvi", data=cube, nir="B99")
    assert e.value.code == "NirBandAmbiguous"


def test_reduce_dimension_bands_with_vectorised_callback():
    cube = make_cube()
    calls = []

    def reducer(data, context=None):
        calls.append(1)
        nir = call("array_element", data=data, label="B08")
        red = call("array_element", data=data, index=0)
        return call("divide", x=call("subtract", x=nir, y=red), y=call("add", x=nir, y=red))

    out = call("reduce_dimension", data=cube, reducer=reducer, dimension="bands")
    red, nir = cube.values[:, 0], cube.values[:, 1]
    np.testing.assert_allclose(out.transpose("t", "y", "x").values, (nir - red) / (nir + red))
    assert len(calls) == 1  # once for the whole cube, not once per pixel


def test_cloud_mask_from_scl():
    cube = make_cube()
    scl = np.array([[[4, 8, 9, 4], [3, 4, 4, 10], [5, 6, 7, 11]]] * 4, dtype=float)
    cube.loc[{"bands": "SCL"}] = scl
    scl_band = call("filter_bands", data=cube, bands=["SCL"])

    def is_cloud(data, context=None):
        s = call("array_element", data=data, index=0)
        return call("or", x=call("or", x=call("eq", x=s, y=3), y=call("eq", x=s, y=8)),
                    y=call("or", x=call("eq", x=s, y=9), y=call("eq", x=s, y=10)))

    cloud = call("reduce_dimension", data=scl_band, reducer=is_cloud, dimension="bands")
    masked = call("mask", data=call("filter_bands", data=cube, bands=["B04", "B08"]), mask=cloud)
    expected_mask = np.isin(scl, [3, 8, 9, 10])
    for b in range(2):
        ref = np.where(expected_mask, np.nan, cube.values[:, b])
        np.testing.assert_array_equal(masked.values[:, b], ref)


def test_temporal_median_composite():
    cube = make_cube(nt=5)
    cube[1, :, 0, 0] = np.nan
    out = call("reduce_dimension", data=cube, reducer=P("median", data="$data"), dimension="t")
    np.testing.assert_allclose(out.values, np.nanmedian(cube.values, axis=0))
    assert out.dims == ("bands", "y", "x")


def test_apply_linear_scale_range():
    cube = make_cube()
    out = call("apply", data=cube, process=P("linear_scale_range", x="$x", inputMin=0.2, inputMax=0.8, outputMin=0, outputMax=255))
    ref = (np.clip(cube.values, 0.2, 0.8) - 0.2) / 0.6 * 255
    np.testing.assert_allclose(out.values, ref)
    assert out.attrs["crs"] == cube.attrs["crs"]


def test_aggregate_spatial_mean_two_polygons():
    from pyproj import Transformer
    from shapely.geometry import box, mapping
    import shapely

    cube = make_cube(nt=2, bands=("B04", "B08"), ny=6, nx=6)
    to4326 = Transformer.from_crs(32633, 4326, always_xy=True)
    # Polygons in UTM chosen around pixel centres, then sent as GeoJSON in EPSG:4326.
    polys_utm = [box(500000, 4999960, 500030, 5000000), box(500031, 4999940, 500060, 4999970)]
    polys = [shapely.transform(p, lambda xy: np.column_stack(to4326.transform(xy[:, 0], xy[:, 1]))) for p in polys_utm]
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": i}, "geometry": mapping(p)}
                                                    for i, p in enumerate(polys)]}
    out = call("aggregate_spatial", data=cube, geometries=fc, reducer=P("mean", data="$data"))
    assert out.dims == ("geometry", "t", "bands")
    assert len(out.attrs["geometries"]) == 2
    xx, yy = np.meshgrid(cube.x.values, cube.y.values)
    for i, p in enumerate(polys_utm):
        minx, miny, maxx, maxy = p.bounds
        inside = (xx >= minx) & (xx <= maxx) & (yy >= miny) & (yy <= maxy)
        assert inside.sum() > 0
        ref = cube.values[:, :, inside].mean(axis=-1)
        np.testing.assert_allclose(out.isel(geometry=i).values, ref, rtol=1e-12)


def test_aggregate_spatial_points_take_the_closest_pixel_and_lines_every_pixel_they_pass():
    from pyproj import Transformer
    import shapely

    cube = make_cube(nt=2, bands=("B04", "B08"), ny=6, nx=8)
    to4326 = Transformer.from_crs(32633, 4326, always_xy=True)

    def geojson(geom_utm):
        return shapely.geometry.mapping(
            shapely.transform(geom_utm, lambda xy: np.column_stack(to4326.transform(xy[:, 0], xy[:, 1]))))

    point = shapely.Point(500033.0, 4999976.0)  # in the pixel of column 3, row 2
    line = shapely.LineString([(500002.0, 4999998.0), (500078.0, 4999943.0)])  # diagonal, corner to corner
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": geojson(point)},
        {"type": "Feature", "properties": {}, "geometry": geojson(line)},
        {"type": "Feature", "properties": {}, "geometry": geojson(shapely.Point(600000.0, 4999976.0))}]}
    out = call("aggregate_spatial", data=cube, geometries=fc, reducer=P("mean", data="$data"))
    np.testing.assert_allclose(out.isel(geometry=0).values, cube.values[:, :, 2, 3], rtol=1e-12)
    # the pixels whose centre is closest to some point of the line: the pixels (10 m squares) it crosses
    xs, ys = cube.x.values, cube.y.values
    corners = shapely.points(np.array([(cx, cy) for cx in np.r_[xs - 5, xs[-1] + 5] for cy in np.r_[ys + 5, ys[-1] - 5]]))
    assert shapely.distance(corners, line).min() > 0.1  # no tie between two pixels
    mask = np.array([[line.intersects(shapely.box(cx - 5, cy - 5, cx + 5, cy + 5)) for cx in xs] for cy in ys])
    assert mask[0, 0] and mask[-1, -1] and mask.any(axis=0).all() and mask.any(axis=1).all() and mask.sum() < 20
    np.testing.assert_allclose(out.isel(geometry=1).values, cube.values[:, :, mask].mean(axis=-1), rtol=1e-12)
    assert np.isnan(out.isel(geometry=2).values).all()  # outside the data


def test_resample_spatial_to_3857():
    from pyproj import Transformer

    cube = make_cube(nt=1, bands=("B04",), ny=20, nx=20)
    cube.values[:] = np.arange(400, dtype=float).reshape(20, 20)
    out = call("resample_spatial", data=cube, projection=3857, resolution=10, method="near")
    assert out.attrs["crs"] == 3857
    assert out.dims == cube.dims
    assert np.allclose(np.diff(out.x.values), 10) and np.allclose(np.diff(out.y.values), -10)
    # Nearest neighbour: check a pixel in the middle against the source pixel containing its centre.
    tr = Transformer.from_crs(3857, 32633, always_xy=True)
    iy, ix = out.sizes["y"] // 2, out.sizes["x"] // 2
    sx, sy = tr.transform(out.x.values[ix], out.y.values[iy])
    jx = int(np.floor((sx - 500000) / 10))
    jy = int(np.floor((5000000 - sy) / 10))
    assert out.values[0, 0, iy, ix] == cube.values[0, 0, jy, jx]


def test_resample_spatial_average_same_crs():
    cube = make_cube(nt=1, bands=("B04",), ny=4, nx=4)
    out = call("resample_spatial", data=cube, resolution=20, method="average")
    ref = cube.values[0, 0].reshape(2, 2, 2, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(out.values[0, 0], ref)
    np.testing.assert_allclose(out.x.values, [500010, 500030])


def test_filter_temporal_end_exclusive_and_open():
    cube = make_cube(nt=4)  # 2021-01-01, 01-11, 01-21, 01-31
    out = call("filter_temporal", data=cube, extent=["2021-01-11", "2021-01-31"])
    assert list(pd.DatetimeIndex(out.t.values).strftime("%m-%d")) == ["01-11", "01-21"]
    out = call("filter_temporal", data=cube, extent=[None, "2021-01-11"])
    assert out.sizes["t"] == 1
    out = call("filter_temporal", data=cube, extent=["2021-01-21T00:00:00Z", None])
    assert out.sizes["t"] == 2


def test_merge_cubes_bands_and_overlap():
    cube = make_cube()
    a = cube.sel(bands=["B04", "B08"])
    b = cube.sel(bands=["SCL"])
    merged = call("merge_cubes", cube1=a, cube2=b)
    assert list(merged.bands.values) == ["B04", "B08", "SCL"]
    xr.testing.assert_allclose(merged.transpose(*cube.dims), cube)
    with pytest.raises(ProcessError) as e:
        call("merge_cubes", cube1=a, cube2=a)
    assert e.value.code == "OverlapResolverMissing"
    c = call("merge_cubes", cube1=a, cube2=cube.sel(bands=["B08", "SCL"]) * 2, overlap_resolver=P("add", x="$x", y="$y"))
    np.testing.assert_allclose(c.sel(bands="B08").values, cube.sel(bands="B08").values * 3)
    np.testing.assert_allclose(c.sel(bands="SCL").values, cube.sel(bands="SCL").values * 2)
    np.testing.assert_allclose(c.sel(bands="B04").values, cube.sel(bands="B04").values)


def test_merge_cubes_time_concatenation():
    cube = make_cube(nt=4)
    merged = call("merge_cubes", cube1=cube.isel(t=[2, 3]), cube2=cube.isel(t=[0, 1]))
    xr.testing.assert_allclose(merged, cube)


def test_apply_kernel_against_numpy():
    cube = make_cube(nt=1, bands=("B04",), ny=5, nx=6)
    cube[0, 0, 2, 3] = np.nan
    kernel = [[1, 2, 0], [0, 1, 0], [0, 0, -1]]
    out = call("apply_kernel", data=cube, kernel=kernel, factor=0.5)
    img = np.nan_to_num(cube.values[0, 0], nan=0.0)
    padded = np.pad(img, 1)
    ref = np.zeros_like(img)
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            ref[i, j] = (padded[i:i + 3, j:j + 3] * np.array(kernel)).sum() * 0.5
    np.testing.assert_allclose(out.values[0, 0], ref)
    rep = call("apply_kernel", data=cube, kernel=[[0, 0, 0], [0, 0, 1], [0, 0, 0]], border="replicate")
    np.testing.assert_allclose(rep.values[0, 0, :, -1], np.nan_to_num(cube.values[0, 0, :, -1]))
    with pytest.raises(ProcessError) as e:
        call("apply_kernel", data=cube, kernel=[[1, 1]])
    assert e.value.code == "KernelDimensionsUneven"


def test_aggregate_temporal_period_monthly():
    t = pd.to_datetime(["2021-01-05", "2021-01-20", "2021-03-02", "2021-03-03", "2021-03-30"]).values
    values = np.arange(5 * 2 * 2, dtype=float).reshape(5, 1, 2, 2)
    values[1, 0, 0, 0] = np.nan
    cube = xr.DataArray(values, dims=("t", "bands", "y", "x"),
                        coords={"t": t, "bands": ["B1"], "y": [15.0, 5.0], "x": [5.0, 15.0]}, attrs={"crs": 32633})
    out = call("aggregate_temporal_period", data=cube, period="month", reducer=P("mean", data="$data"))
    assert list(out.t.values) == ["2021-01", "2021-02", "2021-03"]  # the definition's labels
    np.testing.assert_allclose(out.values[0], np.nanmean(values[0:2], axis=0))
    assert np.isnan(out.values[1]).all()  # February has no data
    np.testing.assert_allclose(out.values[2], values[2:5].mean(axis=0))


def test_aggregate_temporal_intervals_labels():
    cube = make_cube(nt=4)
    out = call("aggregate_temporal", data=cube, intervals=[["2021-01-01", "2021-01-15"], ["2021-01-15", "2021-02-15"]],
               labels=["first", "second"], reducer=P("max", data="$data"))
    assert list(out.t.values) == ["first", "second"]
    np.testing.assert_allclose(out.values[1], cube.values[2:4].max(axis=0))


def test_apply_dimension_sort_and_target_dimension():
    cube = make_cube()
    out = call("apply_dimension", data=cube, dimension="t", process=P("sort", data="$data", asc=False))
    np.testing.assert_allclose(out.values, -np.sort(-cube.values, axis=0))
    q = call("apply_dimension", data=cube, dimension="t", target_dimension="q",
             process=P("quantiles", data="$data", probabilities=[0.25, 0.75]))
    assert q.dims == ("q", "bands", "y", "x") and q.sizes["q"] == 2
    np.testing.assert_allclose(q.values, np.quantile(cube.values, [0.25, 0.75], axis=0))


def test_apply_neighborhood_chunks():
    cube = make_cube(nt=1, bands=("B04",), ny=6, nx=7)
    calls = []

    def process(data, context=None):
        calls.append(dict(data.sizes))
        return data * 2

    out = call("apply_neighborhood", data=cube, process=process,
               size=[{"dimension": "x", "value": 4, "unit": "px"}, {"dimension": "y", "value": 3, "unit": "px"}],
               overlap=[{"dimension": "x", "value": 1, "unit": "px"}, {"dimension": "y", "value": 1, "unit": "px"}])
    np.testing.assert_allclose(out.values, cube.values * 2)
    assert len(calls) == 4


def test_mask_polygon_and_filter_bbox():
    from pyproj import Transformer

    cube = make_cube(nt=1, bands=("B04",), ny=6, nx=6)
    tr = Transformer.from_crs(32633, 4326, always_xy=True)
    w, s = tr.transform(500000, 4999940)
    e, n = tr.transform(500030, 5000000)
    out = call("filter_bbox", data=cube, extent={"west": w, "south": s, "east": e, "north": n})
    assert out.sizes["x"] == 3
    poly = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    m = call("mask_polygon", data=cube, mask=poly)
    assert np.isfinite(m.values).sum() < cube.size and np.isnan(m.values[..., -1]).all()
    mi = call("mask_polygon", data=cube, mask=poly, inside=True)
    assert (np.isfinite(m.values) ^ np.isfinite(mi.values)).all()


def test_dimension_processes():
    cube = make_cube()
    assert call("dimension_labels", data=cube, dimension="bands") == ["B04", "B08", "SCL"]
    assert call("dimension_labels", data=cube, dimension="t")[0].startswith("2021-01-01T00:00:00")
    r = call("rename_labels", data=cube, dimension="bands", target=["red"], source=["B04"])
    assert list(r.bands.values) == ["red", "B08", "SCL"]
    with pytest.raises(ProcessError) as e:
        call("rename_labels", data=cube, dimension="bands", target=["x"], source=["nope"])
    assert e.value.code == "LabelNotAvailable"
    a = call("add_dimension", data=cube.isel(t=0, drop=True), name="t", label="2020-01-01", type="temporal")
    assert a.sizes["t"] == 1 and np.issubdtype(a.t.dtype, np.datetime64)
    d = call("drop_dimension", data=a, name="t")
    assert "t" not in d.dims
    with pytest.raises(ProcessError) as e:
        call("drop_dimension", data=cube, name="t")
    assert e.value.code == "DimensionLabelCountMismatch"
    with pytest.raises(ProcessError) as e:
        call("reduce_dimension", data=cube, dimension="nope", reducer=P("mean", data="$data"))
    assert e.value.code == "DimensionNotAvailable"
    rd = call("rename_dimension", data=cube, source="bands", target="b")
    assert "b" in rd.dims


def test_trim_cube_and_filter_labels():
    cube = make_cube()
    cube[:, :, 0, :] = np.nan
    cube[:, 2] = np.nan
    out = call("trim_cube", data=cube)
    assert out.sizes["y"] == cube.sizes["y"] - 1 and list(out.bands.values) == ["B04", "B08"]
    fl = call("filter_labels", data=cube, dimension="bands", condition=P("neq", x="$value", y="B08"))
    assert list(fl.bands.values) == ["B04", "SCL"]


def test_reducers_on_labelled_arrays_all_any_first_last():
    t = xr.DataArray([[np.nan, 1.0, 0.0], [np.nan, np.nan, np.nan]], dims=("y", "__array__"))
    assert call("first", data=t).values.tolist()[0] == 1.0
    assert np.isnan(call("first", data=t).values[1])
    assert call("last", data=t).values[0] == 0.0
    assert call("all", data=t).values[0] == 0.0
    assert call("any", data=t).values[0] == 1.0
    assert np.isnan(call("any", data=t).values[1])
    assert call("count", data=t).values.tolist() == [2, 0]


def test_anomaly_and_climatological_normal():
    t = pd.date_range("2000-01-01", periods=24, freq="MS").values
    vals = np.arange(24, dtype=float).reshape(24, 1, 1)
    cube = xr.DataArray(vals, dims=("t", "y", "x"), coords={"t": t, "y": [0.5], "x": [0.5]}, attrs={"crs": 4326})
    normals = call("climatological_normal", data=cube, period="month", climatology_period=["2000", "2001"])
    assert list(normals.t.values) == [f"{m:02d}" for m in range(1, 13)]
    np.testing.assert_allclose(normals.values[:, 0, 0], [(m + m + 12) / 2 for m in range(12)])
    an = call("anomaly", data=cube, normals=normals, period="month")
    np.testing.assert_allclose(an.values[:12, 0, 0], -6)
    np.testing.assert_allclose(an.values[12:, 0, 0], 6)


def test_array_interpolate_linear_over_time_by_date_labels():
    cube = make_cube(nt=5, bands=("B04",), ny=2, nx=2)
    t = pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-05", "2021-01-11", "2021-01-12"]).values
    cube = cube.assign_coords(t=t)
    values = cube.values.copy()
    values[1:4, 0, 0, 0] = np.nan  # a gap of three dates between day 1 and day 12
    values[0, 0, 1, 1] = np.nan  # leading no-data stays
    values[:, 0, 0, 1] = np.nan  # all no-data stays
    values[:4, 0, 1, 0] = np.nan  # a single number stays alone
    cube = cube.copy(data=values)
    out = call("apply_dimension", data=cube, dimension="t", process=P("array_interpolate_linear", data="$data"))
    assert out.dims == cube.dims and (out.t.values == t).all()
    start, end = values[0, 0, 0, 0], values[4, 0, 0, 0]
    days = np.array([0, 1, 4, 10, 11])
    np.testing.assert_allclose(out.values[:, 0, 0, 0], start + (end - start) * days / 11)
    assert np.isnan(out.values[0, 0, 1, 1]) and not np.isnan(out.values[1:, 0, 1, 1]).any()
    assert np.isnan(out.values[:, 0, 0, 1]).all()
    np.testing.assert_array_equal(np.isnan(out.values[:, 0, 1, 0]), [True] * 4 + [False])
    untouched = ~np.isnan(values)
    np.testing.assert_allclose(out.values[untouched], values[untouched])


def test_array_interpolate_linear_by_position_for_band_labels():
    cube = make_cube(nt=1, bands=("B02", "B03", "B04", "B08"), ny=1, nx=1)
    values = cube.values.copy()
    values[0, 1:3, 0, 0] = np.nan
    out = call("apply_dimension", data=cube.copy(data=values), dimension="bands",
               process=P("array_interpolate_linear", data="$data"))
    a, b = values[0, 0, 0, 0], values[0, 3, 0, 0]
    np.testing.assert_allclose(out.values[0, :, 0, 0], [a, a + (b - a) / 3, a + 2 * (b - a) / 3, b])


def test_reduce_spatial_collapses_x_and_y_per_date_and_band():
    cube = make_cube(nt=3, bands=("B04", "B08"), ny=3, nx=4)
    values = cube.values.copy()
    values[1, 0, 2, 3] = np.nan
    cube = cube.copy(data=values)
    out = call("reduce_spatial", data=cube, reducer=P("mean", data="$data"))
    assert out.dims == ("t", "bands") and list(out.bands.values) == ["B04", "B08"]
    assert (out.t.values == cube.t.values).all()
    np.testing.assert_allclose(out.values, np.nanmean(values.reshape(3, 2, -1), axis=2))
    assert set(out.attrs.get("dimension_types", {"t": 0, "bands": 0})) == {"t", "bands"}
    counted = call("reduce_spatial", data=cube, reducer=P("count", data="$data"))
    np.testing.assert_array_equal(counted.values, [[12, 12], [11, 12], [12, 12]])


def test_reduce_spatial_needs_a_raster_cube_and_a_single_value():
    cube = make_cube(nt=1, bands=("B04",), ny=2, nx=2)
    with pytest.raises(ProcessError):
        call("reduce_spatial", data=cube.isel(x=0, drop=True), reducer=P("mean", data="$data"))
    with pytest.raises(ProcessError) as err:
        call("reduce_spatial", data=cube, reducer=P("sort", data="$data"))
    assert err.value.code == "ProcessParameterInvalid"


def _blocks_mean(values: np.ndarray, sy: int, sx: int) -> np.ndarray:
    ny, nx = values.shape
    out = np.empty((ny // sy, nx // sx))
    for i in range(ny // sy):
        for j in range(nx // sx):
            out[i, j] = np.nanmean(values[i * sy:(i + 1) * sy, j * sx:(j + 1) * sx])
    return out


def test_aggregate_spatial_window_pads_at_the_lower_right_by_default():
    cube = make_cube(nt=2, bands=("B04",), ny=5, nx=7)  # y descends: row 0 is north
    out = call("aggregate_spatial_window", data=cube, reducer=P("mean", data="$data"), size=[3, 2])
    assert out.dims == cube.dims and out.sizes["x"] == 3 and out.sizes["y"] == 3
    padded = np.full((2, 1, 6, 9), np.nan)
    padded[:, :, :5, :7] = cube.values
    for t in range(2):
        np.testing.assert_allclose(out.values[t, 0], _blocks_mean(padded[t, 0], 2, 3))
    x, y = cube.x.values, cube.y.values
    np.testing.assert_allclose(out.x.values, [x[0:3].mean(), x[3:6].mean(), (x[6] + x[6] + 20) / 2 + 0])
    np.testing.assert_allclose(out.y.values, [y[0:2].mean(), y[2:4].mean(), (y[4] + y[4] - 10) / 2])
    assert out.attrs["crs"] == 32633 and (out.t.values == cube.t.values).all()


def test_aggregate_spatial_window_trims_at_the_aligned_corners_opposite():
    cube = make_cube(nt=1, bands=("B04",), ny=5, nx=5)
    v = cube.values[0, 0]
    lr = call("aggregate_spatial_window", data=cube, reducer=P("max", data="$data"), size=[2, 2], boundary="trim",
              align="lower-right")  # trimmed at the upper left: the first row and column go
    np.testing.assert_allclose(lr.values[0, 0], [[v[1:3, 1:3].max(), v[1:3, 3:5].max()], [v[3:5, 1:3].max(), v[3:5, 3:5].max()]])
    ul = call("aggregate_spatial_window", data=cube, reducer=P("max", data="$data"), size=[2, 2], boundary="trim")
    np.testing.assert_allclose(ul.values[0, 0], [[v[0:2, 0:2].max(), v[0:2, 2:4].max()], [v[2:4, 0:2].max(), v[2:4, 2:4].max()]])
    np.testing.assert_allclose(ul.x.values, [cube.x.values[0:2].mean(), cube.x.values[2:4].mean()])


@pytest.mark.parametrize("arguments", [{"size": [0, 2]}, {"size": [2]}, {"size": [2, 2.5]}, {"size": [2, 2], "boundary": "wrap"},
                                       {"size": [2, 2], "align": "centre"}, {"size": [9, 9], "boundary": "trim"}])
def test_aggregate_spatial_window_refuses_bad_arguments(arguments):
    with pytest.raises(ProcessError) as err:
        call("aggregate_spatial_window", data=make_cube(nt=1, bands=("B04",), ny=3, nx=3), reducer=P("mean", data="$data"),
             **arguments)
    assert err.value.code == "ProcessParameterInvalid"


def test_array_modify_inserts_and_removes_bands_of_a_cube():
    cube = make_cube(nt=2, bands=("B02", "B04", "B08"), ny=2, nx=3)

    def swap_middle(data, context=None):  # replace B04 by two elements: B04 * 2 and a constant
        middle = call("array_element", data=data, index=1)
        return call("array_modify", data=data, values=[call("multiply", x=middle, y=2), 7.0], index=1, length=1)

    out = call("apply_dimension", data=cube, dimension="bands", process=swap_middle)
    assert out.sizes["bands"] == 4
    v = cube.values
    np.testing.assert_allclose(out.values[:, 0], v[:, 0])
    np.testing.assert_allclose(out.values[:, 1], v[:, 1] * 2)
    np.testing.assert_allclose(out.values[:, 2], 7.0)
    np.testing.assert_allclose(out.values[:, 3], v[:, 2])
    removed = call("apply_dimension", data=cube, dimension="bands",
                   process=P("array_modify", data="$data", values=[], index=0, length=2))
    np.testing.assert_allclose(removed.values[:, 0], v[:, 2])


def test_array_modify_refuses_an_index_past_the_end():
    with pytest.raises(ProcessError) as err:
        call("array_modify", data=[1, 2], values=[3], index=3)
    assert err.value.code == "ArrayElementNotAvailable"
    assert call("array_modify", data=[1, 2], values=[3], index=2, length=0) == [1, 2, 3]
    with pytest.raises(ProcessError) as err:
        call("array_modify", data=[1, 2], values=[3], index=-1)
    assert err.value.code == "ProcessParameterInvalid"


def test_array_create_labeled_gives_an_array_addressable_by_label():
    labeled = call("array_create_labeled", data=[1, None, 3], labels=["a", "b", "c"])
    assert call("array_labels", data=labeled) == ["a", "b", "c"]
    assert call("array_element", data=labeled, label="c") == 3
    assert call("array_element", data=labeled, label="b") is None or np.isnan(call("array_element", data=labeled, label="b"))
    with pytest.raises(ProcessError) as err:
        call("array_create_labeled", data=[1, 2], labels=["a"])
    assert err.value.code == "ArrayLengthMismatch"
    with pytest.raises(ProcessError) as err:
        call("array_create_labeled", data=[1, 2], labels=["a", "a"])
    assert err.value.code == "ProcessParameterInvalid"


def test_nanquantile_is_numpys_without_its_per_pixel_loop():
    import warnings

    from executor_svc.processes.reducers import nanquantile

    rng = np.random.default_rng(0)
    for shape, axis in [((6, 5000), 0), ((3, 7, 11), 1), ((1, 100), 0), ((10, 3, 4), 0), ((4, 0), 1)]:
        values = rng.random(shape)
        values[rng.random(shape) < 0.3] = np.nan
        for p in (0, 0.1, 0.25, 0.5, 0.9, 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # all-NaN slices
                expected = np.nanquantile(values, p, axis=axis)
            np.testing.assert_allclose(nanquantile(values, p, axis), expected, equal_nan=True)
    assert nanquantile(np.array([[np.inf, np.nan]]), 0.5, 1)[0] == np.inf  # NumPy says NaN here
    assert nanquantile(np.array([[1.0, np.inf]]), 0.0, 1)[0] == 1.0


def test_quantiles_of_a_cube_with_gaps_are_vectorised():
    cube = make_cube(nt=6, bands=("B04",), ny=40, nx=50)
    cube = cube.where(np.random.default_rng(3).random(cube.shape) > 0.2)
    out = call("apply_dimension", data=cube, dimension="t", target_dimension="q",
               process=P("quantiles", data="$data", probabilities=[0.25, 0.75]))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.nanquantile(cube.values, [0.25, 0.75], axis=0)
    np.testing.assert_allclose(out.transpose("q", "bands", "y", "x").values, expected, equal_nan=True)


@pytest.mark.parametrize("dates", ["regular", "irregular"])
def test_array_interpolate_linear_on_a_gappy_cube_equals_xarrays_interpolate_na(dates):
    import warnings

    cube = make_cube(nt=9, bands=("B04", "B08"), ny=30, nx=40)
    if dates == "irregular":
        cube = cube.assign_coords(t=pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-09", "2021-02-01", "2021-02-03",
                                                    "2021-03-01", "2021-03-02", "2021-05-01", "2021-06-01"]).values)
    gappy = cube.where(np.random.default_rng(5).random(cube.shape) > 0.4)
    out = call("apply_dimension", data=gappy, dimension="t", process=P("array_interpolate_linear", data="$data"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = gappy.interpolate_na(dim="t", method="linear", use_coordinate=True)
    np.testing.assert_allclose(out.transpose(*gappy.dims).values, expected.values, equal_nan=True, rtol=1e-12)
    assert np.isnan(out.transpose(*gappy.dims).values).sum() < np.isnan(gappy.values).sum()  # gaps were filled


def test_polygon_masks_are_computed_in_the_polygons_window_only():
    import shapely

    from executor_svc.processes.vector import pixel_mask

    x = 500005.0 + 10 * np.arange(300)
    y = 5000995.0 - 10 * np.arange(200)
    rng = np.random.default_rng(7)
    shapes = [shapely.box(500100, 5000100, 500480, 5000333),
              shapely.Polygon([(500000, 5000000), (502000, 5001500), (503500, 4999000), (501000, 5000600)]),  # concave
              shapely.MultiPolygon([shapely.box(500000, 5000000, 500050, 5000050), shapely.box(502900, 5000900, 503100, 5001100)]),
              shapely.box(510000, 5010000, 510100, 5010100),  # outside
              shapely.Point(501234, 5000567).buffer(400).difference(shapely.Point(501234, 5000567).buffer(150))]  # ring
    shapes += [shapely.Point(500000 + rng.uniform(0, 3000), 4999000 + rng.uniform(0, 2000)).buffer(rng.uniform(5, 300))
               for _ in range(20)]
    xx, yy = np.meshgrid(x, y)
    for geom in shapes:
        np.testing.assert_array_equal(pixel_mask(x, y, geom), shapely.intersects_xy(geom, xx, yy))
    # ascending y (south-up) too
    np.testing.assert_array_equal(pixel_mask(x, y[::-1], shapes[1]), shapely.intersects_xy(shapes[1], *np.meshgrid(x, y[::-1])))
