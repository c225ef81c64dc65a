"""JSON, GeoJSON and CSV (pure; vector cubes are DataArrays with dims (geometry[, t][, bands]) and
attrs["geometries"])."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math

import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry import mapping

from backend_common.errors import OpenEOError

from ..processes.datacube import ARRAY_DIM
from .raster import is_vector_cube, t_labels


def _plain(value):
    """JSON-compatible Python value (NaN/inf → null, numpy → Python, dates → RFC 3339)."""
    if isinstance(value, xr.DataArray):
        if value.ndim == 0:
            return _plain(value.values[()])
        if is_timeseries(value):
            return timeseries_json(value)
        if value.dims == (ARRAY_DIM,):  # an array, e.g. of array_create_labeled
            if ARRAY_DIM in value.coords:
                return {str(_plain(k)): _plain(v) for k, v in zip(value.coords[ARRAY_DIM].values, value.values)}
            return _plain(value.values)
        return cube_to_json(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.ndim == 0:  # a numpy scalar in an array's clothes
            return _plain(value[()])
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (np.datetime64, pd.Timestamp, dt.datetime)):
        return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    if hasattr(value, "geom_type"):
        return mapping(value)
    return value


def is_timeseries(cube: xr.DataArray) -> bool:
    """A vector cube over time (aggregate_spatial of a cube with a `t` dimension)."""
    return is_vector_cube(cube) and "t" in cube.dims and set(cube.dims) <= {"geometry", "t", "bands"}


def timeseries_json(cube: xr.DataArray) -> dict:
    """The time-series JSON of openEO back-ends that the `openeo` client's
    `timeseries_json_to_pandas` reads: {date: [[band values] per geometry]} (null for no data)."""
    ordered = cube.transpose("t", "geometry", *(["bands"] if "bands" in cube.dims else []))
    values = ordered.values if "bands" in cube.dims else ordered.values[..., np.newaxis]
    return {date: _plain(values[i]) for i, date in enumerate(t_labels(ordered))}


def cube_to_json(cube: xr.DataArray) -> dict:
    coords = {}
    for dim in cube.dims:
        if dim in cube.coords:
            if dim == "t":
                coords[dim] = t_labels(cube)
            else:
                coords[dim] = _plain(cube.coords[dim].values)
    doc = {"dims": list(cube.dims), "coords": coords, "data": _plain(cube.values)}
    if cube.attrs.get("crs") is not None:
        doc["crs"] = _plain(cube.attrs["crs"])
    if is_vector_cube(cube):
        doc["geometries"] = [mapping(g) for g in cube.attrs["geometries"]]
    return doc


def encode_json(value) -> bytes:
    return json.dumps(_plain(value), allow_nan=False).encode()


def _vector(value) -> xr.DataArray:
    if not is_vector_cube(value):
        raise OpenEOError(
            "FormatUnsuitable", "GeoJSON and CSV need a vector cube (the result of aggregate_spatial).", 400
        )
    return value.transpose("geometry", *[d for d in ("t", "bands") if d in value.dims], *[
        d for d in value.dims if d not in ("geometry", "t", "bands")
    ])


def _band_names(cube: xr.DataArray) -> list[str]:
    if "bands" in cube.dims:
        if "bands" in cube.coords:
            return [str(b) for b in cube.bands.values]
        return [f"band_{i}" for i in range(cube.sizes["bands"])]
    return [str(cube.name) if cube.name else "value"]


def _rows(cube: xr.DataArray):
    """(feature index, date label or None, [values per band])."""
    bands = _band_names(cube)
    dates = t_labels(cube) if "t" in cube.dims else [None]
    values = cube.values
    for g in range(cube.sizes["geometry"]):
        for ti, date in enumerate(dates):
            row = values[g]
            if "t" in cube.dims:
                row = row[ti]
            row = np.atleast_1d(row)
            yield g, date, [_plain(row[b]) for b in range(len(bands))]


def encode_geojson(value) -> bytes:
    cube = _vector(value)
    bands = _band_names(cube)
    geometries = cube.attrs["geometries"]
    features = []
    by_feature: dict[int, dict] = {}
    for g, date, vals in _rows(cube):
        props = by_feature.setdefault(g, {})
        entry = dict(zip(bands, vals))
        if date is None:
            props.update(entry)
        else:
            props[date] = entry
    for g, geom in enumerate(geometries):
        features.append(
            {"type": "Feature", "id": g, "geometry": mapping(geom) if geom is not None else None, "properties": by_feature.get(g, {})}
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, allow_nan=False).encode()


def encode_csv(value) -> bytes:
    cube = _vector(value)
    bands = _band_names(cube)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["feature_index"] + (["date"] if "t" in cube.dims else []) + bands
    writer.writerow(header)
    for g, date, vals in _rows(cube):
        row = [g] + ([date] if "t" in cube.dims else []) + ["" if v is None else v for v in vals]
        writer.writerow(row)
    return out.getvalue().encode()
