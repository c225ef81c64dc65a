"""netCDF-4 writer with CF conventions (engine h5netcdf; CPU work: run in an executor).

Layout (what xarray, netCDF4/h5netcdf and GDAL readers expect): one data variable per band, named
by the band label, over dimensions (t, y, x) (or (y, x) for a cube without time); `t`, `y`, `x`
coordinate variables; a CF grid-mapping variable `spatial_ref` (no dimension) that every band names in
its `grid_mapping` attribute and lists in `coordinates`, so that xarray reads it as a coordinate
(not as a data variable) and rioxarray-like readers find the CRS, with the grid's `GeoTransform`
(GDAL's attribute) so that a side of one pixel keeps its size. A time dimension whose labels
are dates is a CF time coordinate; other labels (periods such as `2024-06`, renamed labels) are
written as text.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr
from pyproj import CRS

from .blocks import with_empty_variables, write_blocks
from .datatypes import cast_for_file
from .raster import band_labels, canonical, epsg_of, transform_of

GRID_MAPPING = "spatial_ref"  # the name rioxarray and GDAL use


def _band_names(cube: xr.DataArray) -> list[str]:
    """Band labels as variable names: the band labels, `band_1`.. for a cube without labels
    (never the node's name); duplicates made unique."""
    names = band_labels(cube) if "bands" in cube.coords else [f"band_{i + 1}" for i in range(cube.sizes["bands"])]
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        name = name or "band"
        if name in seen or name in ("t", "x", "y", GRID_MAPPING):
            seen[name] = seen.get(name, 1) + 1
            name = f"{name}_{seen[name]}"
        seen.setdefault(name, 1)
        unique.append(name)
    return unique


def _time_values(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """(values, is_time): datetime64 labels as they are, anything else as text."""
    if np.issubdtype(values.dtype, np.datetime64):
        return values, True
    try:
        if values.dtype == object and all(isinstance(v, (pd.Timestamp, np.datetime64)) for v in values):
            return pd.DatetimeIndex(values).values, True
    except (TypeError, ValueError):
        pass
    return np.array([str(v) for v in values], dtype=object), False


def write_netcdf(path: str | os.PathLike, cube: xr.DataArray, *, title: str = "openEO result",
                 datatype: str | None = None, nodata: float | None = None) -> None:
    """Writes the cube; a dask-backed cube is computed and written a few chunks at a time
    (`blocks.write_blocks`)."""
    ds, encoding = cf_dataset(cube, title=title, datatype=datatype, nodata=nodata)
    lazy = {}
    for name in ds.data_vars:
        encoding[name].update({"zlib": True, "complevel": 4})
        data = ds[name].data
        if hasattr(data, "dask"):  # the file's HDF5 chunks are the cube's (at most one date deep)
            encoding[name]["chunksizes"] = tuple(max(c) for c in data.chunks)
            lazy[name] = data
    if not lazy:
        ds.to_netcdf(os.fspath(path), engine="h5netcdf", encoding=encoding)
        return
    # the layout, coordinates and attributes now; the chunked variables a few blocks at a time
    with_empty_variables(ds, lazy).to_netcdf(os.fspath(path), engine="h5netcdf", encoding=encoding, compute=False)
    import h5py

    with h5py.File(os.fspath(path), "r+") as handle:
        for name, data in lazy.items():
            write_blocks(data, handle[name])


def cf_dataset(cube: xr.DataArray, *, title: str = "openEO result", datatype: str | None = None,
               nodata: float | None = None) -> tuple[xr.Dataset, dict]:
    """(the cube as a CF dataset, its encoding without compression): the layout of the module's
    docstring, shared by the netCDF and ZARR writers; lazy when the cube is dask-backed."""
    cube = canonical(cube)
    has_time = "t" in cube.coords
    epsg = epsg_of(cube)
    names = _band_names(cube)
    coords: dict = {
        "x": ("x", cube.x.values.astype("float64")),
        "y": ("y", cube.y.values.astype("float64")),
    }
    is_time = False
    if has_time:
        t_values, is_time = _time_values(cube.t.values)
        coords["t"] = ("t", t_values)
    dims = ("t", "y", "x") if has_time else ("y", "x")
    variables = {}
    encoding: dict = {}
    for i, name in enumerate(names):
        values = cube.isel(bands=i).data
        values = values if has_time else values[0]
        values, fill = cast_for_file(values, datatype, nodata)
        variables[name] = (dims, values)
        encoding[name] = {"dtype": values.dtype, "_FillValue": fill}
    ds = xr.Dataset(variables, coords=coords)
    geographic = False
    if epsg is not None:
        crs = CRS.from_epsg(epsg)
        cf = crs.to_cf()
        cf["spatial_ref"] = crs.to_wkt()  # GDAL's and rioxarray's name for the WKT
        cf["crs_wkt"] = crs.to_wkt()
        # GDAL's and rioxarray's exact grid (a side of one pixel has no coordinate step to read)
        t = transform_of(cube)
        cf["GeoTransform"] = " ".join(repr(float(v)) for v in (t.c, t.a, t.b, t.f, t.d, t.e))
        ds = ds.assign_coords({GRID_MAPPING: xr.DataArray(np.int32(0), attrs=cf)})
        geographic = crs.is_geographic
    ds.x.attrs.update(
        {"standard_name": "longitude", "units": "degrees_east", "axis": "X", "long_name": "longitude"}
        if geographic
        else {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X", "long_name": "x coordinate of projection"}
    )
    ds.y.attrs.update(
        {"standard_name": "latitude", "units": "degrees_north", "axis": "Y", "long_name": "latitude"}
        if geographic
        else {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y", "long_name": "y coordinate of projection"}
    )
    for name in names:
        ds[name].attrs["long_name"] = name
        if epsg is not None:
            ds[name].attrs["grid_mapping"] = GRID_MAPPING
            # read back as a coordinate, not as one more data variable
            ds[name].encoding["coordinates"] = GRID_MAPPING
    if has_time:
        if is_time:
            ds.t.attrs.update({"standard_name": "time", "axis": "T", "long_name": "time"})
            encoding["t"] = {"units": "days since 1990-01-01 00:00:00", "calendar": "standard", "dtype": "float64"}
        else:
            ds.t.attrs.update({"long_name": "t (labels of the temporal dimension)"})
    ds.attrs.update({"Conventions": "CF-1.9", "title": title, "source": "openEO backend for Sentinel Hub"})
    return ds, encoding
