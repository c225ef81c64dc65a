"""Aggregations: aggregate_temporal, aggregate_temporal_period, aggregate_spatial, anomaly,
climatological_normal.

Reducer callbacks are called once per interval / geometry with ``data`` = the cube subset whose
aggregated dimension is ARRAY_DIM (all pixels/bands at once), never once per pixel.

``aggregate_temporal_period`` labels the temporal dimension as its definition gives (``2020-01``
for months, ``2020-23`` for weeks, ...): text labels, complete for the temporal extent of
the source cube (the load's time range when the cube still has it, else its first to last date);
``anomaly``/``climatological_normal`` use the spec's normals labels.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
import xarray as xr

from .cubes import as_like
from .datacube import ARRAY_DIM, TEMPORAL, date_values, require_cube, single_dimension, to_datetime64, with_attrs
from .errors import ProcessError
from .registry import invalid, process, required
from .vector import cube_geometries, pixel_mask

PERIODS = ("hour", "day", "week", "dekad", "month", "season", "tropical-season", "year", "decade", "decade-ad")


def period_start(ts: pd.Timestamp, period: str) -> pd.Timestamp:
    if period == "hour":
        return ts.floor("h")
    if period == "day":
        return ts.normalize()
    if period == "week":
        return ts.normalize() - pd.Timedelta(days=ts.weekday())
    if period == "dekad":
        return pd.Timestamp(ts.year, ts.month, 1 if ts.day <= 10 else (11 if ts.day <= 20 else 21))
    if period == "month":
        return pd.Timestamp(ts.year, ts.month, 1)
    if period == "season":
        m = ts.month
        if m == 12:
            return pd.Timestamp(ts.year, 12, 1)
        if m <= 2:
            return pd.Timestamp(ts.year - 1, 12, 1)
        return pd.Timestamp(ts.year, 3 + 3 * ((m - 3) // 3), 1)
    if period == "tropical-season":
        m = ts.month
        if 5 <= m <= 10:
            return pd.Timestamp(ts.year, 5, 1)
        return pd.Timestamp(ts.year if m >= 11 else ts.year - 1, 11, 1)
    if period == "year":
        return pd.Timestamp(ts.year, 1, 1)
    if period == "decade":
        return pd.Timestamp(ts.year // 10 * 10, 1, 1)
    if period == "decade-ad":
        return pd.Timestamp((ts.year - 1) // 10 * 10 + 1, 1, 1)
    raise invalid("aggregate_temporal_period", "period", f"unsupported period {period!r}.")


def period_next(start: pd.Timestamp, period: str) -> pd.Timestamp:
    if period == "hour":
        return start + pd.Timedelta(hours=1)
    if period == "day":
        return start + pd.Timedelta(days=1)
    if period == "week":
        return start + pd.Timedelta(days=7)
    if period == "dekad":
        if start.day < 21:
            return start + pd.Timedelta(days=10)
        return start + pd.offsets.MonthBegin(1)
    months = {"month": 1, "season": 3, "tropical-season": 6, "year": 12, "decade": 120, "decade-ad": 120}[period]
    return start + pd.DateOffset(months=months)


def period_key(ts: pd.Timestamp, period: str) -> str:
    """Label of a period in a *normals* cube (spec of ``anomaly``/``climatological_normal``)."""
    if period == "hour":
        return f"{ts.hour:02d}"
    if period == "day":
        return f"{ts.dayofyear:03d}"
    if period == "week":
        return f"{ts.isocalendar().week:02d}"
    if period == "dekad":
        return f"{(ts.month - 1) * 3 + min((ts.day - 1) // 10, 2) + 1:02d}"  # 01..36, as period_label
    if period == "month":
        return f"{ts.month:02d}"
    if period == "season":
        return {12: "djf", 1: "djf", 2: "djf", 3: "mam", 4: "mam", 5: "mam", 6: "jja", 7: "jja", 8: "jja"}.get(ts.month, "son")
    if period == "tropical-season":
        return "mjjaso" if 5 <= ts.month <= 10 else "ndjfma"
    if period == "year":
        return f"{ts.year:04d}"
    if period == "decade":
        return f"{ts.year // 10 * 10:04d}"
    if period == "decade-ad":
        return f"{(ts.year - 1) // 10 * 10 + 1:04d}"
    raise invalid("anomaly", "period", f"unsupported period {period!r}.")


def period_label(start: pd.Timestamp, period: str) -> str:
    """Label of the period starting at `start` in ``aggregate_temporal_period``'s result (its
    definition's forms: ``YYYY-MM-DD-HH``, ``YYYY-DDD``, ``YYYY-WW`` (ISO 8601 weeks, Monday
    first, of the ISO year), ``YYYY-DD`` (dekads 01..36), ``YYYY-MM``, ``YYYY-djf`` (the year the
    season starts in), ``YYYY-ndjfma``, ``YYYY``)."""
    if period == "hour":
        return start.strftime("%Y-%m-%d-%H")
    if period == "day":
        return f"{start.year:04d}-{start.dayofyear:03d}"
    if period == "week":
        iso = start.isocalendar()
        return f"{iso[0]:04d}-{iso[1]:02d}"
    if period in ("dekad", "month", "season", "tropical-season"):
        return f"{start.year:04d}-{period_key(start, period)}"
    return f"{start.year:04d}"  # year, decade, decade-ad: the first year of the period


def _reduce_groups(data: xr.DataArray, dim: str, groups: list[np.ndarray], labels: list, reducer: Callable, context: Any) -> xr.DataArray:
    template = data.isel({dim: 0}, drop=True) if data.sizes[dim] else xr.full_like(data.sum(dim), np.nan, dtype=float)
    results = []
    for idx in groups:
        if len(idx) == 0:
            results.append(xr.full_like(template, np.nan, dtype=float))
            continue
        contiguous = idx[-1] - idx[0] + 1 == len(idx)  # dates in order: a view, not a copy of the group
        sub = data.isel({dim: slice(idx[0], idx[-1] + 1) if contiguous else idx}).rename({dim: ARRAY_DIM})
        res = reducer(data=sub, context=context)
        if isinstance(res, xr.DataArray) and ARRAY_DIM in res.dims:
            res = res.isel({ARRAY_DIM: 0}, drop=True)
        results.append(as_like(res, template))
    out = xr.concat(results, dim=dim) if results else data.isel({dim: []})
    out = out.assign_coords({dim: labels}).transpose(*data.dims)
    return out


def _labels_as_time(labels: list) -> list:
    try:
        return [to_datetime64(str(l)) for l in labels]
    except (ValueError, TypeError):
        return [str(l) for l in labels]


@process("aggregate_temporal")
def aggregate_temporal(args: dict, ctx: Any) -> xr.DataArray:
    pid = "aggregate_temporal"
    data = require_cube(required(args, "data", pid), pid)
    intervals = required(args, "intervals", pid)
    reducer = required(args, "reducer", pid)
    labels = list(args.get("labels") or [])
    dim = single_dimension(data, TEMPORAL, args.get("dimension"), pid)
    if labels and len(labels) != len(intervals):
        raise ProcessError("DistinctDimensionLabelsRequired", f"{pid}: the number of labels must match the number of intervals.")
    if len(labels) != len(set(map(str, labels))):
        raise ProcessError("DistinctDimensionLabelsRequired", "The dimension labels have duplicate values. Distinct labels must be specified.")
    t = date_values(data, dim, pid)
    groups = []
    for start, end in intervals:
        s, e = to_datetime64(start), to_datetime64(end)
        groups.append(np.flatnonzero((t >= s) & (t < e)))
    out_labels = _labels_as_time(labels or [i[0] for i in intervals])
    if len(set(map(str, out_labels))) != len(out_labels):
        raise ProcessError("DistinctDimensionLabelsRequired", "The dimension labels have duplicate values. Distinct labels must be specified.")
    return with_attrs(_reduce_groups(data, dim, groups, out_labels, reducer, args.get("context")), data)


@process("aggregate_temporal_period")
def aggregate_temporal_period(args: dict, ctx: Any) -> xr.DataArray:
    pid = "aggregate_temporal_period"
    data = require_cube(required(args, "data", pid), pid)
    period = required(args, "period", pid)
    reducer = required(args, "reducer", pid)
    if period not in PERIODS:
        raise invalid(pid, "period", f"unsupported period {period!r}.")
    dim = single_dimension(data, TEMPORAL, args.get("dimension"), pid)
    times = pd.DatetimeIndex(date_values(data, dim, pid))
    first, last = _temporal_extent(data, times)
    if first is None:
        return data
    starts = np.array([period_start(ts, period) for ts in times], dtype="datetime64[ns]")
    # Labels complete for the whole extent, including the periods without data.
    labels = []
    cur, end = period_start(first, period), period_start(last, period)
    while cur <= end:
        labels.append(cur)
        cur = period_next(cur, period)
    label_values = np.array(labels, dtype="datetime64[ns]")
    groups = [np.flatnonzero(starts == lv) for lv in label_values]
    names = np.array([period_label(pd.Timestamp(lv), period) for lv in label_values], dtype=object)
    out = _reduce_groups(data, dim, groups, list(names), reducer, args.get("context"))
    out = with_attrs(out, data)
    out.attrs.pop("temporal_extent", None)  # the labels are periods now, not dates
    return out


def _temporal_extent(data: xr.DataArray, times: pd.DatetimeIndex) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last instant of the cube's temporal extent: the load's time range when the cube
    carries it (``attrs["temporal_extent"]``, inclusive, narrowed by ``filter_temporal``), widened
    to the dates present; else the first and last date."""
    first = times.min() if len(times) else None
    last = times.max() if len(times) else None
    extent = data.attrs.get("temporal_extent")
    if isinstance(extent, (list, tuple)) and len(extent) == 2:
        try:
            start, end = (pd.Timestamp(to_datetime64(v)) for v in extent)
        except (TypeError, ValueError):
            return first, last
        first = start if first is None else min(first, start)
        last = end if last is None else max(last, end)
    return first, last


@process("aggregate_spatial")
def aggregate_spatial(args: dict, ctx: Any) -> xr.DataArray:
    pid = "aggregate_spatial"
    data = require_cube(required(args, "data", pid), pid)
    reducer = required(args, "reducer", pid)
    original, geoms, props = cube_geometries(required(args, "geometries", pid), data)
    for d in ("x", "y"):
        if d not in data.dims:
            raise ProcessError("DimensionNotAvailable", f"{pid}: the data cube has no {d!r} dimension.")
    x, y = data.coords["x"].values, data.coords["y"].values
    rest = [d for d in data.dims if d not in ("x", "y")]
    flat = data.transpose(*rest, "y", "x").stack(__pix__=("y", "x"))
    flat = flat.drop_vars([c for c in ("__pix__", "x", "y") if c in flat.coords])
    template = flat.isel(__pix__=0, drop=True) if flat.sizes["__pix__"] else None
    results = []
    for g in geoms:
        idx = np.flatnonzero(pixel_mask(x, y, g).ravel())
        if len(idx) == 0 or template is None:
            results.append(xr.full_like(template, np.nan, dtype=float) if template is not None else xr.DataArray(np.nan))
            continue
        sub = flat.isel(__pix__=idx).rename({"__pix__": ARRAY_DIM})
        res = reducer(data=sub, context=args.get("context"))
        if isinstance(res, xr.DataArray) and ARRAY_DIM in res.dims:
            res = res.isel({ARRAY_DIM: 0}, drop=True)
        results.append(as_like(res, template))
    out = xr.concat(results, dim="geometry") if results else xr.DataArray(np.zeros((0,)), dims=("geometry",))
    out = out.assign_coords(geometry=np.arange(len(geoms)))
    order = ["geometry"] + [d for d in ("t", "bands") if d in out.dims] + [d for d in out.dims if d not in ("geometry", "t", "bands")]
    out = out.transpose(*order)
    types = {"geometry": "geometry"}
    types.update({d: t for d, t in (data.attrs.get("dimension_types") or {}).items() if d in out.dims})
    out.attrs = {"crs": 4326 if not isinstance(args.get("geometries"), xr.DataArray) else args["geometries"].attrs.get("crs", 4326),
                 "geometries": original, "properties": props, "dimension_types": types}
    return out


def _normals_keys(normals: xr.DataArray, dim: str, period: str) -> list[str]:
    values = normals.coords[dim].values
    if np.issubdtype(values.dtype, np.datetime64):
        return [period_key(pd.Timestamp(v), period) for v in values]
    return [str(v) for v in values]


@process("anomaly")
def anomaly(args: dict, ctx: Any) -> xr.DataArray:
    pid = "anomaly"
    data = require_cube(required(args, "data", pid), pid)
    normals = require_cube(required(args, "normals", pid), pid, "normals")
    period = required(args, "period", pid)
    dim = single_dimension(data, TEMPORAL, None, pid)
    ndim = single_dimension(normals, TEMPORAL, None, pid) if "t" not in normals.dims else "t"
    keys = _normals_keys(normals, ndim, period)
    pos = {k: i for i, k in enumerate(keys)}
    t = data.coords[dim].values
    if np.issubdtype(t.dtype, np.datetime64):
        data_keys = [period_key(pd.Timestamp(v), period) for v in t]
    else:  # aggregate_temporal_period's labels such as "2020-01", "2020-06-05-10", "2020-djf": the last part
        data_keys = [str(v).rsplit("-", 1)[-1] if period not in ("year", "decade", "decade-ad") else str(v) for v in t]
    missing = sorted({k for k in data_keys if k not in pos})
    if missing:
        raise ProcessError("ProcessParameterInvalid", f"{pid}: normals are missing for the periods {missing}.")
    picked = normals.isel({ndim: [pos[k] for k in data_keys]}).rename({ndim: dim}).assign_coords({dim: t})
    picked = picked.broadcast_like(data).transpose(*data.dims)
    return with_attrs(data - picked, data)


@process("climatological_normal")
def climatological_normal(args: dict, ctx: Any) -> xr.DataArray:
    pid = "climatological_normal"
    data = require_cube(required(args, "data", pid), pid)
    period = required(args, "period", pid)
    y0, y1 = (int(str(v)[:4]) for v in (args.get("climatology_period") or ["1981", "2010"]))
    dim = single_dimension(data, TEMPORAL, None, pid)
    times = pd.DatetimeIndex(date_values(data, dim, pid))
    in_period = (times >= pd.Timestamp(y0, 1, 1)) & (times < pd.Timestamp(y1 + 1, 1, 1))
    if period == "season":
        # The December before the period belongs to the first winter; the last December is incomplete.
        in_period |= (times >= pd.Timestamp(y0 - 1, 12, 1)) & (times < pd.Timestamp(y0, 1, 1))
        in_period &= ~((times >= pd.Timestamp(y1, 12, 1)) & (times < pd.Timestamp(y1 + 1, 1, 1)))
    if period == "tropical-season":
        in_period |= (times >= pd.Timestamp(y0 - 1, 11, 1)) & (times < pd.Timestamp(y0, 1, 1))
        in_period &= ~((times >= pd.Timestamp(y1, 11, 1)) & (times < pd.Timestamp(y1 + 1, 1, 1)))
    if period == "climatology-period":
        keys = np.array([f"{y0}-{y1}"] * len(times))
        order = [f"{y0}-{y1}"]
    elif period in ("day", "month", "season", "tropical-season"):
        keys = np.array([period_key(ts, period) for ts in times])
        order = sorted(set(keys[in_period]), key=lambda k: {"djf": 0, "mam": 1, "jja": 2, "son": 3, "ndjfma": 0, "mjjaso": 1}.get(k, k) if not k.isdigit() else int(k))
    else:
        raise invalid(pid, "period", f"unsupported period {period!r}.")
    groups = [np.flatnonzero(in_period & (keys == k)) for k in order]
    means = []
    for idx in groups:
        with np.errstate(all="ignore"):
            means.append(data.isel({dim: idx}).mean(dim=dim, skipna=True))
    if not means:
        raise ProcessError("ProcessParameterInvalid", f"{pid}: the data cube does not cover the climatology period {y0}-{y1}.")
    out = xr.concat(means, dim=dim).assign_coords({dim: order}).transpose(*data.dims)
    return with_attrs(out, data)
