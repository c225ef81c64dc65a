"""Issue 20, edge cases the 1.2.0 definitions name (zero divisors, inverted ranges, periods without
data and their labels, empty and one-pixel cubes, unknown projections), on the executor's processes
as a plan runs them (tests/graph_runner.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from executor_svc.processes import ProcessError
from executor_svc.processes.aggregate import period_label
from tests.graph_runner import evaluate


def run(pid: str, **arguments):
    return evaluate({"n": {"process_id": pid, "arguments": arguments, "result": True}})


def on_cube(pid: str, cube, **arguments):
    return evaluate({"n": {"process_id": pid, "arguments": {"data": {"from_parameter": "c"}, **arguments},
                           "result": True}}, parameters={"c": cube})


REDUCER_MEAN = {"process_graph": {"m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}},
                                        "result": True}}}


def cube(dates=("2024-06-05", "2024-06-20"), ny=2, nx=3):
    t = pd.to_datetime(list(dates)).values
    values = np.arange(len(t) * ny * nx, dtype=float).reshape(len(t), ny, nx)
    return xr.DataArray(values, dims=("t", "y", "x"), coords={"t": t, "y": 46.0 - np.arange(ny) * 0.1,
                                                              "x": 14.0 + np.arange(nx) * 0.1}, attrs={"crs": 4326})


@pytest.mark.parametrize("x, y", [(27, 0), (-27, 0), (2.5, 0), (0, 0), (2.5, 0.0)])
def test_mod_by_zero_is_null(x, y):
    assert run("mod", x=x, y=y) is None


def test_mod_by_zero_in_arrays_is_nan_and_the_definitions_examples_hold():
    c = cube()
    out = on_cube("apply", c, process={"process_graph": {"m": {"process_id": "mod", "arguments": {
        "x": {"from_parameter": "x"}, "y": 0}, "result": True}}})
    assert np.isnan(out.values).all()
    assert run("mod", x=27, y=5) == 2 and run("mod", x=-27, y=5) == 3 and run("mod", x=3.14, y=-2) == -0.86
    assert run("mod", x=-27, y=-5) == -2 and run("mod", x=27, y=None) is None


@pytest.mark.parametrize("x, imin, imax, omin, omax, expected", [
    (25, 100, 0, 0, 1, 0.75), (150, 100, 0, 0, 1, 0.0), (-5, 100, 0, 0, 1, 1.0),
    (25, 0, 100, 1, 0, 0.75), (0.3, -1, 1, 0, 255, 165.75), (1.12, 0, 1, 0, 255, 255), (25.5, 0, 255, 0, 1, 0.1)])
def test_linear_scale_range_inverted_ranges_scale_in_reverse(x, imin, imax, omin, omax, expected):
    out = run("linear_scale_range", x=x, inputMin=imin, inputMax=imax, outputMin=omin, outputMax=omax)
    assert out == pytest.approx(expected)


@pytest.mark.parametrize("period, start, label", [
    ("hour", "2024-06-05T10:00", "2024-06-05-10"), ("day", "2024-02-01", "2024-032"), ("day", "2024-12-31", "2024-366"),
    ("week", "2024-06-03", "2024-23"), ("week", "2024-12-30", "2025-01"), ("dekad", "2024-01-01", "2024-01"),
    ("dekad", "2024-02-01", "2024-04"), ("dekad", "2024-12-21", "2024-36"), ("month", "2024-06-01", "2024-06"),
    ("season", "2023-12-01", "2023-djf"), ("season", "2024-03-01", "2024-mam"), ("tropical-season", "2023-11-01", "2023-ndjfma"),
    ("tropical-season", "2024-05-01", "2024-mjjaso"), ("year", "2024-01-01", "2024"), ("decade", "2020-01-01", "2020"),
    ("decade-ad", "2021-01-01", "2021")])
def test_period_labels_are_the_definitions_forms(period, start, label):
    assert period_label(pd.Timestamp(start), period) == label


def test_aggregate_temporal_period_keeps_periods_without_data_over_the_cubes_extent():
    c = cube()
    c.attrs["temporal_extent"] = ["2024-06-01T00:00:00Z", "2024-06-30T23:59:59Z"]  # what a load carries
    out = on_cube("aggregate_temporal_period", c, period="week", reducer=REDUCER_MEAN)
    assert list(out.t.values) == ["2024-22", "2024-23", "2024-24", "2024-25", "2024-26"]
    assert np.isnan(out.values[[0, 2, 4]]).all()
    np.testing.assert_array_equal(out.values[1], c.values[0])
    np.testing.assert_array_equal(out.values[3], c.values[1])
    assert "temporal_extent" not in out.attrs
    # without a known extent: the first to the last date, with the empty weeks between them
    out = on_cube("aggregate_temporal_period", cube(), period="week", reducer=REDUCER_MEAN)
    assert list(out.t.values) == ["2024-23", "2024-24", "2024-25"]


def test_filter_temporal_narrows_the_cubes_temporal_extent():
    c = cube()
    c.attrs["temporal_extent"] = ["2024-06-01T00:00:00Z", "2024-06-30T23:59:59Z"]
    out = on_cube("filter_temporal", c, extent=["2024-06-10", "2024-06-24"])
    weeks = evaluate({"a": {"process_id": "aggregate_temporal_period", "arguments": {
        "data": {"from_parameter": "c"}, "period": "week", "reducer": REDUCER_MEAN}, "result": True}},
        parameters={"c": out})
    assert list(weeks.t.values) == ["2024-24", "2024-25"]


def test_aggregate_temporal_period_on_labels_that_are_not_dates_is_a_parameter_error():
    periods = on_cube("aggregate_temporal_period", cube(), period="month", reducer=REDUCER_MEAN)
    with pytest.raises(ProcessError) as err:
        on_cube("aggregate_temporal_period", periods, period="year", reducer=REDUCER_MEAN)
    assert err.value.code == "ProcessParameterInvalid"


@pytest.mark.parametrize("pid, arguments", [
    ("resample_spatial", {"resolution": 0.05}), ("resample_spatial", {"projection": 3857}),
    ("reduce_spatial", {"reducer": REDUCER_MEAN})])
def test_processes_on_a_spatially_empty_cube_answer_no_data(pid, arguments):
    empty = on_cube("filter_bbox", cube(), extent={"west": 20, "south": 50, "east": 21, "north": 51})
    assert empty.sizes["x"] == 0
    with pytest.raises(ProcessError) as err:
        evaluate({"n": {"process_id": pid, "arguments": {"data": {"from_parameter": "c"}, **arguments}, "result": True}},
                 parameters={"c": empty})
    assert err.value.code == "NoDataAvailable"


def test_resample_spatial_with_an_unknown_projection_is_a_parameter_error():
    with pytest.raises(ProcessError) as err:
        on_cube("resample_spatial", cube(), projection="invalid")
    assert err.value.code == "ProcessParameterInvalid"


def test_one_pixel_sides_keep_their_pixel_size_through_resampling_and_windows():
    c = cube(ny=1, nx=1)
    c.attrs.update(res_x=0.1, res_y=0.1)
    out = on_cube("resample_spatial", c, resolution=0.05)
    assert out.sizes["x"] == 2 and out.attrs["res_x"] == pytest.approx(0.05)
    big = cube(ny=4, nx=4)
    window = on_cube("aggregate_spatial_window", big, size=[2, 2], reducer=REDUCER_MEAN)
    assert window.attrs["res_x"] == pytest.approx(0.2) and window.attrs["res_y"] == pytest.approx(0.2)


@pytest.mark.parametrize("period", ["hour", "day", "week", "dekad", "month", "season", "tropical-season", "year"])
def test_anomaly_of_aggregate_temporal_period_labels_finds_its_normals(period):
    """The periods' text labels lead anomaly to the same normals as the dates they stand for."""
    c = cube(dates=("2024-06-05T10:00", "2024-06-20T10:00"))
    by_date = on_cube("anomaly", c, normals=_normals(c, period), period=period)
    aggregated = on_cube("aggregate_temporal_period", c, period=period, reducer=REDUCER_MEAN)
    by_label = on_cube("anomaly", aggregated, normals=_normals(c, period), period=period)
    first = aggregated.isel(t=0).values - by_label.isel(t=0).values
    np.testing.assert_array_equal(first, c.values[0] - by_date.values[0])


def _normals(c, period):
    from executor_svc.processes.aggregate import period_key

    # every period that touches the cube's dates (aggregate_temporal_period also keeps the empty ones)
    instants = pd.date_range(pd.Timestamp(c.t.values[0]) - pd.Timedelta(days=7), pd.Timestamp(c.t.values[-1]) + pd.Timedelta(days=7), freq="h")
    keys = sorted({period_key(ts, period) for ts in instants})
    values = np.stack([np.full(c.shape[1:], 100.0 * (i + 1)) for i in range(len(keys))])
    return xr.DataArray(values, dims=("t", "y", "x"), coords={"t": keys, "y": c.y, "x": c.x}, attrs=c.attrs)


def test_filter_temporal_on_labels_that_are_not_dates_is_a_parameter_error():
    periods = on_cube("aggregate_temporal_period", cube(), period="month", reducer=REDUCER_MEAN)
    with pytest.raises(ProcessError) as err:
        on_cube("filter_temporal", periods, extent=["2024-01-01", "2025-01-01"])
    assert err.value.code == "ProcessParameterInvalid"


def _no_dates():
    c = cube()
    return c.isel(t=slice(0, 0))


@pytest.mark.parametrize("reducer, expected", [("mean", np.nan), ("median", np.nan), ("first", np.nan), ("max", np.nan),
                                               ("sd", np.nan), ("count", 0)])
def test_reducing_a_dimension_without_labels_gives_no_data(reducer, expected):
    """A load without acquisitions has an empty t: its reduction is no-data (count 0), not a crash."""
    out = on_cube("reduce_dimension", _no_dates(), dimension="t", reducer={"process_graph": {"r": {
        "process_id": reducer, "arguments": {"data": {"from_parameter": "data"}}, "result": True}}})
    assert out.dims == ("y", "x")
    np.testing.assert_array_equal(out.values, np.full((2, 3), expected))


def test_temporal_and_spatial_aggregations_of_a_cube_without_dates():
    out = on_cube("aggregate_temporal", _no_dates(), intervals=[["2024-06-01", "2024-07-01"]], reducer=REDUCER_MEAN)
    assert out.sizes["t"] == 1 and np.isnan(out.values).all()
    out = on_cube("reduce_spatial", _no_dates(), reducer=REDUCER_MEAN)
    assert out.sizes == {"t": 0}
