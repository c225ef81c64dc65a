"""Data-cube convention shared by all processes (see README.md in this folder).

Raster cube
    ``xarray.DataArray`` whose dimensions use openEO names: spatial ``x`` and ``y``,
    temporal ``t`` (``datetime64`` labels), bands ``bands`` (string labels). Any order is
    accepted; the canonical order is ``(t, bands, y, x)``. Values are floats, no-data is
    ``NaN``. ``attrs["crs"]`` is the EPSG code (int) and the x/y coordinates are pixel
    centres in that CRS. Optional ``attrs["dimension_types"]`` maps dimension name ->
    openEO dimension type (``spatial``, ``temporal``, ``bands``, ``geometry``, ``other``)
    and overrides the name-based defaults. Optional ``attrs["band_metadata"]`` is a list of
    ``{"name", "common_name", "center_wavelength"}`` dicts used by ``filter_bands``.

Vector cube (result of ``aggregate_spatial``)
    ``xarray.DataArray`` with dims ``("geometry", "t", "bands")`` (``t``/``bands`` only where
    present), ``attrs["geometries"]`` = list of shapely geometries (one per ``geometry``
    label, in ``attrs["crs"]``, which is 4326 because inputs are GeoJSON).

Arrays inside callbacks
    When a callback receives an *array* (``data`` of a reducer, of ``apply_dimension``, ...),
    it is given the whole cube as a DataArray in which the dimension being processed has
    been renamed to :data:`ARRAY_DIM`. Array processes (``mean``, ``array_element``,
    ``sort``, ...) operate along that dimension, so callbacks are evaluated once for all
    pixels (vectorised) instead of once per pixel. Labels stay available as coordinates.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .errors import ProcessError

#: Name of the dimension along which array processes operate inside callbacks.
ARRAY_DIM = "__array__"

SPATIAL = "spatial"
TEMPORAL = "temporal"
BANDS = "bands"
GEOMETRY = "geometry"
OTHER = "other"

_DEFAULT_TYPES = {"x": SPATIAL, "y": SPATIAL, "z": SPATIAL, "t": TEMPORAL, "bands": BANDS, "geometry": GEOMETRY}


def is_vector_cube(value: Any) -> bool:
    return isinstance(value, xr.DataArray) and "geometry" in value.dims


def require_cube(value: Any, process_id: str, name: str = "data") -> xr.DataArray:
    if not isinstance(value, xr.DataArray):
        raise ProcessError(
            "ProcessParameterInvalid",
            f"The value passed for parameter {name!r} in process {process_id!r} is invalid: expected a data cube, got {type(value).__name__}.",
        )
    return value


def dimension_type(cube: xr.DataArray, dim: str) -> str:
    types = cube.attrs.get("dimension_types") or {}
    if dim in types:
        return types[dim]
    if dim in _DEFAULT_TYPES:
        return _DEFAULT_TYPES[dim]
    if dim in cube.coords and np.issubdtype(cube.coords[dim].dtype, np.datetime64):
        return TEMPORAL
    return OTHER


def dims_of_type(cube: xr.DataArray, dtype: str) -> list[str]:
    return [d for d in cube.dims if dimension_type(cube, d) == dtype]


def require_dimension(cube: xr.DataArray, dim: str) -> str:
    if dim not in cube.dims:
        raise ProcessError(
            "DimensionNotAvailable",
            f"A dimension with the specified name {dim!r} does not exist (available: {list(cube.dims)}).",
        )
    return dim


def single_dimension(cube: xr.DataArray, dtype: str, dimension: str | None, process_id: str) -> str:
    """Resolve the dimension of type ``dtype`` (explicit name or the only one of that type)."""
    if dimension is not None:
        return require_dimension(cube, dimension)
    dims = dims_of_type(cube, dtype)
    if not dims:
        raise ProcessError("DimensionNotAvailable", f"{process_id}: the data cube has no {dtype} dimension.")
    if len(dims) > 1:
        raise ProcessError("TooManyDimensions", f"{process_id}: the data cube has more than one {dtype} dimension: {dims}.")
    return dims[0]


def date_values(cube: xr.DataArray, dim: str, pid: str) -> np.ndarray:
    """The labels of a temporal dimension as datetime64[ns] (dates, or text that starts with a
    YYYY-MM-DD date); ProcessParameterInvalid for other labels (the periods of
    aggregate_temporal_period such as `2024-06`, renamed labels)."""
    values = cube.coords[dim].values
    if np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[ns]")
    try:
        if all(isinstance(v, (pd.Timestamp, np.datetime64)) or (isinstance(v, str) and _DATE_TEXT.match(v))
               for v in values):
            return np.array([to_datetime64(v) for v in values], dtype="datetime64[ns]")
    except (TypeError, ValueError):
        pass
    raise ProcessError("ProcessParameterInvalid", f"{pid}: the labels of dimension {dim!r} are not dates "
                       "(e.g. periods of aggregate_temporal_period, or renamed labels).")


_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}")


def require_pixels(cube: xr.DataArray, pid: str) -> xr.DataArray:
    """`cube` when it has at least one pixel; a spatially empty cube (e.g. after a filter_bbox
    that misses the data) cannot be resampled or reduced: NoDataAvailable."""
    if any(cube.sizes.get(d, 1) == 0 for d in ("x", "y")):
        raise ProcessError("NoDataAvailable", f"{pid}: the data cube has no pixels (its spatial extent is empty, "
                           "e.g. a filter that does not overlap the data).")
    return cube


def pixel_size(cube: xr.DataArray) -> tuple[float, float]:
    """Pixel width and height of a cube: its coordinates' step, or for a side of one pixel the size
    the cube carries (``res_x``/``res_y`` or ``resolution`` attrs)."""
    x, y = cube.coords["x"].values.astype(float), cube.coords["y"].values.astype(float)
    res = cube.attrs.get("resolution")
    known_x = cube.attrs.get("res_x") or (res[0] if isinstance(res, (list, tuple)) else res)
    known_y = cube.attrs.get("res_y") or (res[1] if isinstance(res, (list, tuple)) else res)
    rx = abs(x[1] - x[0]) if len(x) > 1 else float(known_x or (abs(y[1] - y[0]) if len(y) > 1 else 1.0))
    ry = abs(y[1] - y[0]) if len(y) > 1 else float(known_y or rx)
    return rx, ry


def with_attrs(result: xr.DataArray, source: xr.DataArray, **updates: Any) -> xr.DataArray:
    """Copy cube metadata (crs, dimension types, band metadata, ...) from ``source`` onto ``result``."""
    attrs = dict(source.attrs)
    attrs.update(result.attrs if result is not source else {})
    attrs.update(updates)
    types = attrs.get("dimension_types")
    if types:
        attrs["dimension_types"] = {k: v for k, v in types.items() if k in result.dims}
    result.attrs = attrs
    return result


def labels_of(cube: xr.DataArray, dim: str) -> list:
    if dim in cube.coords:
        return list(cube.coords[dim].values)
    return list(range(cube.sizes[dim]))


def to_datetime64(value: Any) -> np.datetime64:
    """Parse an openEO temporal string (date or date-time, RFC 3339) to naive UTC datetime64[ns]."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return np.datetime64(ts.to_datetime64(), "ns")


def label_to_python(value: Any) -> Any:
    """Convert a numpy label to a JSON-friendly Python value (datetimes become ISO strings)."""
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).isoformat() + "Z"
    if isinstance(value, np.generic):
        return value.item()
    return value
