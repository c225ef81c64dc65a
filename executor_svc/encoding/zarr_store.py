"""ZARR writer: the netCDF writer's CF dataset (`netcdf.cf_dataset`: one variable per band over
(t, y, x), CF time and grid mapping) as a Zarr store, zipped into one file (CPU work: run in an
executor).

One zip (stored, not deflated: the chunks are compressed already) is one asset that every
client downloads whole and opens without unpacking: `xarray.open_zarr(zarr.storage.ZipStore(path,
mode="r"))` or `xarray.open_zarr("zip::path")` (fsspec). The store is Zarr format 2 with
consolidated metadata, which both the zarr 2 and zarr 3 libraries (and GDAL) read. A dask-backed
cube is written a few chunks at a time (`blocks.write_blocks`; its chunks are the store's, one
date deep), so a result larger than memory fits; the store is written to a directory first because a zip entry cannot be
rewritten (xarray writes the metadata more than once).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import xarray as xr

from .blocks import with_empty_variables, write_blocks
from .netcdf import cf_dataset

#: spatial chunk side of an eager (numpy) cube's store
EAGER_CHUNK = 1024


def _chunks(data, dims: tuple[str, ...]) -> tuple[int, ...]:
    if hasattr(data, "chunks") and data.chunks is not None:
        sizes = tuple(max(c) if c else 1 for c in data.chunks)
    else:
        sizes = tuple(min(n, EAGER_CHUNK) for n in data.shape)
    # one date per chunk: a client reading one date reads only its chunks
    return tuple(1 if d == "t" else max(1, s) for d, s in zip(dims, sizes))


def write_zarr(path: str | os.PathLike, cube: xr.DataArray, *, datatype: str | None = None,
               nodata: float | None = None) -> None:
    ds, encoding = cf_dataset(cube, datatype=datatype, nodata=nodata)
    lazy = {}
    for name in ds.data_vars:
        chunks = _chunks(ds[name].data, ds[name].dims)
        encoding[name]["chunks"] = chunks
        if hasattr(ds[name].data, "dask"):
            ds[name] = ds[name].chunk(dict(zip(ds[name].dims, chunks)))
            lazy[name] = ds[name].data
    path = Path(path)
    staging = Path(tempfile.mkdtemp(prefix="zarr-", dir=path.parent))
    try:
        store = staging / "store.zarr"
        with_empty_variables(ds, lazy).to_zarr(os.fspath(store), mode="w", encoding=encoding, zarr_format=2,
                                               consolidated=True, compute=not lazy)
        if lazy:  # the layout and coordinates are written; the chunked variables a few blocks at a time
            import zarr

            group = zarr.open_group(os.fspath(store), mode="r+", zarr_format=2)
            for name, data in lazy.items():
                write_blocks(data, group[name])
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for file in sorted(store.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(store).as_posix())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
