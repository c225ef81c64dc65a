"""Result value → files (CPU work: call from an executor thread, never on the event loop)."""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from backend_common.errors import OpenEOError
from backend_proto.v1 import store_pb2

from .blocks import computed_blocks
from .datatypes import cast_for_file
from .gtiff import write_cog, write_cog_chunked
from .image import encode_image, write_image_chunked
from .netcdf import write_netcdf
from .raster import (
    StatisticsAccumulator,
    band_labels,
    band_statistics,
    bounds_of,
    canonical,
    date_labels,
    epsg_of,
    file_date,
    is_raster_cube,
    t_labels,
    transform_of,
)
from .vector import encode_csv, encode_geojson, encode_json
from .zarr_store import write_zarr


@dataclass
class EncodedFile:
    name: str
    path: Path
    media_type: str
    size: int
    #: Raster files: their projection and bands (the other fields unset), for the job's results.
    metadata: store_pb2.ResultAsset | None = None
    #: Date of the file when the result is split per date.
    datetime: str | None = None


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def _declared(fill) -> float | None:
    """The no-data value to declare in a GeoTIFF: None for NaN (the writer's default)."""
    return None if np.isnan(float(fill)) else fill


def _valid(values: np.ndarray, nodata: float) -> np.ndarray:
    """The band as floats with its no-data value as NaN (for the statistics)."""
    if np.issubdtype(values.dtype, np.floating) and np.isnan(float(nodata)):
        return values
    out = values.astype(np.float64)
    if not np.isnan(float(nodata)):
        out[out == float(nodata)] = np.nan
    return out


def _raster_metadata(cube: xr.DataArray, values, names: list[str], nodata: float = float("nan"),
                     stats: StatisticsAccumulator | None = None) -> store_pb2.ResultAsset:
    """The grid and bands of a raster file, as the fields of its result asset; the band
    statistics from `stats` when the file was written a block at a time (a chunked cube), else
    from `values`."""
    epsg = epsg_of(cube)
    projection = store_pb2.Projection(shape=[int(cube.sizes["y"]), int(cube.sizes["x"])])
    if epsg is not None:
        projection.epsg = epsg
        projection.bbox.extend(float(v) for v in bounds_of(cube))
        projection.transform.extend(list(transform_of(cube))[:6])
    # what the collection tells about a band (common name, wavelength) stays with it
    known = {m.get("name"): m for m in cube.attrs.get("band_metadata") or [] if isinstance(m, dict)}
    bands = []
    for i, name in enumerate(names):
        numbers = stats.statistics(i) if stats is not None else band_statistics(_valid(values[i], nodata))
        band = store_pb2.Band(name=name, data_type=str(values.dtype), nodata=float(nodata),
                              statistics=store_pb2.BandStatistics(**numbers))
        if isinstance(known.get(name, {}).get("common_name"), str):
            band.common_name = known[name]["common_name"]
        if isinstance(known.get(name, {}).get("center_wavelength"), (int, float)):
            band.center_wavelength = float(known[name]["center_wavelength"])
        bands.append(band)
    return store_pb2.ResultAsset(projection=projection, bands=bands)


def _block_statistics(data, nodata) -> StatisticsAccumulator:
    """Statistics of a dask array (bands, rows, cols), computed a window (all bands) at a time."""
    data = data.rechunk({0: -1})
    stats = StatisticsAccumulator(data.shape[0], None if np.isnan(float(nodata)) else nodata)
    for _, block in computed_blocks(data):
        stats.add(block)
    return stats


def file_prefix(options: dict) -> str:
    """The file name prefix of `save_result`'s `filename_prefix` option (no path separators)."""
    return str(options.get("filename_prefix") or "openEO").replace("/", "_")


def encode_result(
    value, output, options: dict | None, out_dir: str | os.PathLike, *, metadata: bool = True
) -> list[EncodedFile]:
    """Writes `value` as the plan's `output` (an `OutputFormat`: canonical format, media type and
    extension, from the compiler's format table) with the (checked) `options` into `out_dir`;
    several files when the format needs one per date.

    `metadata=False` skips the projection and bands of raster files (band statistics cost a pass over
    the pixels; synchronous results have no STAC metadata)."""
    fmt, media_type, extension = output.format, output.media_type, output.extension
    options = dict(options or {})
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = file_prefix(options)
    files: list[EncodedFile] = []

    def add(name: str, media_type: str, fields=None, date: str | None = None) -> None:
        """`fields`: a callable making the file's STAC fields (called only when wanted)."""
        path = out_dir / name
        meta = fields() if (fields is not None and metadata) else None
        files.append(EncodedFile(name, path, media_type, path.stat().st_size, meta, date))

    if fmt in ("JSON", "GeoJSON", "CSV"):
        encoder = {"JSON": encode_json, "GeoJSON": encode_geojson, "CSV": encode_csv}[fmt]
        name = f"{prefix}.{extension}"
        _write(out_dir / name, encoder(value))
        add(name, media_type)
        return files

    if not is_raster_cube(value):
        raise OpenEOError(
            "FormatUnsuitable",
            f"{fmt} needs a raster data cube (with x and y dimensions); use JSON for this result.",
            400,
        )
    if "bands" not in value.dims:
        # the bands dimension was reduced away: its one band gets the label the plan gives it
        # (`OutputFormat.band_name`, e.g. "ndvi"), never the name of a node
        value = value.expand_dims(bands=[output.band_name or "band"], axis=0)
    cube = canonical(value)
    if any(cube.sizes[d] == 0 for d in ("t", "bands", "y", "x")):
        raise OpenEOError("NoDataAvailable", "The result is empty: no data for the requested extent and time.", 400)
    names = band_labels(cube)
    lazy = cube.chunks is not None  # a chunked cube: files written chunk by chunk
    datatype = options.get("datatype")  # checked by the compiler (output_formats.py)
    labels_t = t_labels(cube)  # file names
    dates = date_labels(cube)  # the same where a label is a date-time, else None (no datetime tag)

    if fmt in ("netCDF", "ZARR"):
        name = f"{prefix}.{extension}"
        writer = write_netcdf if fmt == "netCDF" else write_zarr
        writer(out_dir / name, value, datatype=datatype, nodata=options.get("nodata"))
        if lazy:  # the first date's statistics a chunk at a time (not the whole date in memory)
            first, fill = cast_for_file(cube.isel(t=0).data, datatype, options.get("nodata"))
            add(name, media_type, lambda: _raster_metadata(cube, first, names, fill, _block_statistics(first, fill)))
            return files
        first, fill = cast_for_file(cube.isel(t=0).values, datatype, options.get("nodata"))
        add(name, media_type, lambda: _raster_metadata(cube, first, names, fill))
        return files

    epsg = epsg_of(cube)
    transform = transform_of(cube)
    if fmt == "GTiff":
        compression = options.get("compression") or "deflate"
        overviews = bool(options.get("overviews", True))
        if options.get("time_as_bands") and len(dates) > 1:
            labels = [f"{file_date(d) or i}_{b}" for i, d in enumerate(labels_t) for b in names]
            name = f"{prefix}.{extension}"
            stacked = cube.data if lazy else cube.values
            data, fill = cast_for_file(stacked.reshape(-1, cube.sizes["y"], cube.sizes["x"]), datatype,
                                       options.get("nodata"))
            if lazy:
                stats = write_cog_chunked(out_dir / name, data, transform=transform, epsg=epsg, band_names=labels,
                                          compression=compression, overviews=overviews, nodata=_declared(fill))
                add(name, media_type, lambda: _raster_metadata(cube, data, labels, fill, stats))
                return files
            write_cog(out_dir / name, data, transform=transform, epsg=epsg, band_names=labels,
                      compression=compression, overviews=overviews, nodata=_declared(fill))
            add(name, media_type, lambda: _raster_metadata(cube, data, labels, fill))
            return files
        for ti, date in enumerate(dates):
            suffix = f"_{file_date(labels_t[ti]) or ti}" if len(dates) > 1 else ""
            name = f"{prefix}{suffix}.{extension}"
            if lazy:
                data, fill = cast_for_file(cube.isel(t=ti).data, datatype, options.get("nodata"))
                stats = write_cog_chunked(out_dir / name, data, transform=transform, epsg=epsg, band_names=names,
                                          compression=compression, overviews=overviews, nodata=_declared(fill),
                                          tags={"datetime": date} if date else None)
                add(name, media_type, lambda: _raster_metadata(cube, data, names, fill, stats), date)
                continue
            data, fill = cast_for_file(cube.isel(t=ti).values, datatype, options.get("nodata"))
            write_cog(out_dir / name, data, transform=transform, epsg=epsg, band_names=names,
                      compression=compression, overviews=overviews, nodata=_declared(fill),
                      tags={"datetime": date} if date else None)
            add(name, media_type, lambda: _raster_metadata(cube, data, names, fill), date)
        return files

    if fmt not in ("PNG", "JPEG"):
        raise OpenEOError("FormatUnsupported", f"The executor cannot write {fmt!r} files.", 400)
    for ti, date in enumerate(dates):
        if lazy:
            suffix = f"_{file_date(labels_t[ti]) or ti}" if len(dates) > 1 else ""
            name = f"{prefix}{suffix}.{extension}"
            data = cube.isel(t=ti).data
            stats = write_image_chunked(out_dir / name, data, fmt, scale_min=options.get("scale_min"),
                                        scale_max=options.get("scale_max"),
                                        quality=int(options.get("quality") or 90), datatype=datatype)
            add(name, media_type, lambda: _raster_metadata(cube, data.astype(np.float32), names, stats=stats), date)
            continue
        data = cube.isel(t=ti).values
        blob = encode_image(
            data, fmt, scale_min=options.get("scale_min"), scale_max=options.get("scale_max"),
            quality=int(options.get("quality") or 90), datatype=datatype,
        )
        suffix = f"_{file_date(labels_t[ti]) or ti}" if len(dates) > 1 else ""
        name = f"{prefix}{suffix}.{extension}"
        _write(out_dir / name, blob)
        add(name, media_type, lambda: _raster_metadata(cube, data.astype(np.float32, copy=False), names), date)
    return files


def bundle(files: list[EncodedFile], out_dir: str | os.PathLike, name: str = "openEO.zip") -> EncodedFile:
    """One file for a synchronous response: the file itself, or a zip of several."""
    if len(files) == 1:
        return files[0]
    path = Path(out_dir) / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for f in files:
            already = f.media_type.startswith(("image/", "application/x-netcdf", "application/zip"))
            archive.write(f.path, f.name, compress_type=zipfile.ZIP_STORED if already else zipfile.ZIP_DEFLATED)
    return EncodedFile(name, path, "application/zip", path.stat().st_size)
