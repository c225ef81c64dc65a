"""netCDF-4 writer with CF conventions (engine h5netcdf; CPU work: run in an executor)."""

from __future__ import annotations

import os

import numpy as np
import xarray as xr
from pyproj import CRS

from .raster import band_labels, canonical, epsg_of


def write_netcdf(path: str | os.PathLike, cube: xr.DataArray, *, title: str = "openEO result") -> None:
    cube = canonical(cube)
    has_time = "t" in cube.coords
    epsg = epsg_of(cube)
    labels = band_labels(cube)
    coords: dict = {
        "x": ("x", cube.x.values.astype("float64")),
        "y": ("y", cube.y.values.astype("float64")),
    }
    if has_time:
        coords["t"] = ("t", cube.t.values)
    variables = {}
    for i, name in enumerate(labels):
        values = cube.isel(bands=i).values.astype(np.float32, copy=False)
        if has_time:
            variables[name] = (("t", "y", "x"), values)
        else:
            variables[name] = (("y", "x"), values[0])
    ds = xr.Dataset(variables, coords=coords)
    if epsg is not None:
        crs = CRS.from_epsg(epsg)
        cf = crs.to_cf()
        cf["spatial_ref"] = crs.to_wkt()
        cf["crs_wkt"] = crs.to_wkt()
        ds["spatial_ref"] = xr.DataArray(np.int32(0), attrs=cf)
        geographic = crs.is_geographic
        ds.x.attrs.update(
            {"standard_name": "longitude", "units": "degrees_east", "axis": "X"}
            if geographic
            else {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X", "long_name": "x coordinate of projection"}
        )
        ds.y.attrs.update(
            {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"}
            if geographic
            else {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y", "long_name": "y coordinate of projection"}
        )
    for name in labels:
        ds[name].attrs["long_name"] = name
        if epsg is not None:
            ds[name].attrs["grid_mapping"] = "spatial_ref"
    encoding = {name: {"dtype": "float32", "_FillValue": np.float32(np.nan), "zlib": True, "complevel": 4} for name in labels}
    if has_time:
        ds.t.attrs.update({"standard_name": "time", "axis": "T", "long_name": "time"})
        encoding["t"] = {"units": "days since 1990-01-01 00:00:00", "calendar": "standard", "dtype": "float64"}
    ds.attrs.update({"Conventions": "CF-1.9", "title": title, "source": "openEO backend for Sentinel Hub"})
    ds.to_netcdf(os.fspath(path), engine="h5netcdf", encoding=encoding)
