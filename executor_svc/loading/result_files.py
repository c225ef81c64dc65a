"""Batch job results (GeoTIFF assets) → raster cube, for `load_result` (pure; CPU work: run it in
the executor's thread pool).

The batch worker writes one GeoTIFF per date (`<prefix>_<YYYY-MM-DD>.tif`, the date also in the
asset's `datetime` and the file's `datetime` tag), one file without date when the result has no
time dimension, `<date>_<band>` band names for `time_as_bands`, and for very large areas one file
per spatial chunk and date (`<prefix>_r<i>c<j>[_<date>].tif`, pixel-exact pieces of one grid).
`read_result_cube` puts all of that back together into the canonical cube of the convention
(dims `t`/`bands`/`y`/`x`, pixel-centre coordinates, `attrs["crs"]`), reading only the windows and
bands that the `load_result` filters keep; `filter_result_cube` then applies the filters with the
semantics of `filter_bbox` / `filter_spatial` / `filter_temporal` / `filter_bands`.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from backend_common.errors import OpenEOError
from backend_proto.v1 import store_pb2

PID = "load_result"
#: `_2024-06-01.tif` / `_2024-06-01T101500Z.tif` at the end of a file name (see encoding.raster.file_date).
DATE_IN_NAME = re.compile(r"_(\d{4}-\d{2}-\d{2}(?:T\d{6}Z)?)\.tiff?$", re.IGNORECASE)
#: Band names written with `time_as_bands`: `<file date>_<band>`.
TIME_AS_BANDS = re.compile(r"^(\d{4}-\d{2}-\d{2}(?:T\d{6}Z)?)_(.+)$")
#: Offsets between files must be whole pixels up to this fraction of a pixel.
ALIGN_TOLERANCE = 1e-3


def invalid_results(job_id: str, reason: str) -> OpenEOError:
    return OpenEOError(
        "ProcessParameterInvalid",
        f"The value passed for parameter 'id' in process 'load_result' is invalid: the results of job {job_id!r} {reason}",
        400,
    )


# ---- the job's results -------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultAsset:
    name: str
    key: str
    #: RFC 3339 / file-name date of the file when the job's results or the file name tell it.
    datetime: str | None = None
    #: `attrs["band_metadata"]` entries ({"name", "common_name", "center_wavelength"}) of its bands.
    eo_bands: list = field(default_factory=list, compare=False)


def is_geotiff_asset(asset: store_pb2.ResultAsset) -> bool:
    media = asset.media_type.lower()
    if media:
        return media.startswith(("image/tiff", "image/geotiff"))
    return asset.key.lower().endswith((".tif", ".tiff")) or asset.name.lower().endswith((".tif", ".tiff"))


def _band_metadata(band: store_pb2.Band) -> dict:
    meta: dict = {"name": band.name}
    if band.common_name:
        meta["common_name"] = band.common_name
    if band.HasField("center_wavelength"):
        meta["center_wavelength"] = band.center_wavelength
    return meta


def raster_assets(results: store_pb2.JobResults, job_id: str) -> list[ResultAsset]:
    """The GeoTIFF data assets of a job's results (only keys inside the job's prefix), sorted by
    name; the date from the asset's `datetime` or the file name when present."""
    prefix = f"jobs/{job_id}/"
    out = []
    for entry in results.assets:
        if not entry.key.startswith(prefix):
            continue
        if "data" not in (list(entry.roles) or ["data"]) or not is_geotiff_asset(entry):
            continue
        date = entry.datetime
        if not date:
            match = DATE_IN_NAME.search(entry.key)
            date = match.group(1) if match else None
        out.append(ResultAsset(entry.name, entry.key, date, [_band_metadata(b) for b in entry.bands if b.name]))
    return sorted(out, key=lambda a: a.name)


def parse_label(text: str | None) -> np.datetime64 | None:
    """RFC 3339 / `YYYY-MM-DD` / `YYYY-MM-DDTHHMMSSZ` (file names) → naive UTC datetime64[ns]."""
    if not text:
        return None
    text = str(text).strip()
    compact = re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})(\d{2})Z", text)
    if compact:
        text = f"{compact.group(1)}T{compact.group(2)}:{compact.group(3)}:{compact.group(4)}Z"
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return np.datetime64(stamp.to_datetime64(), "ns")


def temporal_bounds(temporal_extent: Any) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    if not isinstance(temporal_extent, (list, tuple)) or len(temporal_extent) != 2:
        return None, None
    start, end = (parse_label(v) if isinstance(v, str) else None for v in temporal_extent)
    return start, end


def assets_in_interval(assets: list[ResultAsset], temporal_extent: Any) -> list[ResultAsset]:
    """Drops the assets whose known date is outside the left-closed interval (before downloading);
    assets without a known date are kept (their `datetime` tag decides after reading)."""
    start, end = temporal_bounds(temporal_extent)
    if start is None and end is None:
        return list(assets)
    kept = []
    for asset in assets:
        date = parse_label(asset.datetime)
        if date is not None and ((start is not None and date < start) or (end is not None and date >= end)):
            continue
        kept.append(asset)
    return kept


# ---- GeoTIFFs → cube -----------------------------------------------------------------------------


@dataclass
class _File:
    path: str
    crs: Any
    transform: Any
    width: int
    height: int
    descriptions: list[str]
    nodata: float | None
    label: str | None
    #: (date label or None, band label) of each band in the file.
    layers: list[tuple[str | None, str]] = field(default_factory=list)
    col: int = 0
    row: int = 0


def _open(path: str, label: str | None, job_id: str) -> _File:
    import rasterio

    try:
        with rasterio.open(path) as src:
            tags = src.tags()
            info = _File(
                path=path,
                crs=src.crs,
                transform=src.transform,
                width=src.width,
                height=src.height,
                descriptions=[d or f"band_{i + 1}" for i, d in enumerate(src.descriptions)],
                nodata=src.nodata,
                label=label or tags.get("datetime") or None,
            )
    except rasterio.errors.RasterioIOError:
        raise invalid_results(job_id, f"contain a file that is not a readable GeoTIFF ({os.path.basename(path)}).") from None
    t = info.transform
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        raise invalid_results(job_id, "are not on a north-up grid.")
    if info.crs is None:
        raise invalid_results(job_id, f"have no coordinate reference system ({os.path.basename(path)}).")
    if info.label is None and all(TIME_AS_BANDS.match(d) for d in info.descriptions):
        info.layers = [(m.group(1), m.group(2)) for m in (TIME_AS_BANDS.match(d) for d in info.descriptions)]
    else:
        info.layers = [(info.label, d) for d in info.descriptions]
    return info


def _crs_attr(crs) -> int | str:
    epsg = crs.to_epsg()
    return int(epsg) if epsg else crs.to_wkt()


def _align(files: list[_File], job_id: str) -> tuple[float, float, float, float]:
    """Sets each file's pixel offset on the common grid; returns (west, north, res_x, res_y) of it."""
    first = files[0]
    res_x, res_y = first.transform.a, -first.transform.e
    west, north = first.transform.c, first.transform.f
    for f in files:
        if f.crs != first.crs:
            raise invalid_results(job_id, "are in different coordinate reference systems.")
        if not (math.isclose(f.transform.a, res_x, rel_tol=1e-6) and math.isclose(-f.transform.e, res_y, rel_tol=1e-6)):
            raise invalid_results(job_id, "have different resolutions.")
        col = (f.transform.c - west) / res_x
        row = (north - f.transform.f) / res_y
        if abs(col - round(col)) > ALIGN_TOLERANCE or abs(row - round(row)) > ALIGN_TOLERANCE:
            raise invalid_results(job_id, "are not on one pixel grid.")
        f.col, f.row = int(round(col)), int(round(row))
    min_col, min_row = min(f.col for f in files), min(f.row for f in files)
    for f in files:
        f.col -= min_col
        f.row -= min_row
    return west + min_col * res_x, north - min_row * res_y, res_x, res_y


def _centre_range(origin: float, step: float, count: int, lo: float, hi: float, sign: int) -> tuple[int, int]:
    """[first, last+1) indices whose pixel centre lies within [lo, hi] (sign -1: coordinates decrease)."""
    centres = origin + sign * (np.arange(count) + 0.5) * step
    inside = np.flatnonzero((centres >= lo) & (centres <= hi))
    if inside.size == 0:
        return 0, 0
    return int(inside[0]), int(inside[-1]) + 1


def read_result_cube(
    files: list[tuple[str, str | None]],
    *,
    job_id: str,
    bounds: tuple[float, float, float, float, Any] | None = None,
    bands: list[str] | None = None,
    band_metadata: list[dict] | None = None,
) -> xr.DataArray:
    """Reads GeoTIFF files [(path, date label or None)] into one cube (t, bands, y, x).

    `bounds` = (west, south, east, north, crs) limits the pixels read (a one-pixel margin is kept;
    the exact filter is `filter_result_cube`); `bands` limits the bands read when all are present.
    Files of the same date are mosaicked (spatial tiles of one grid). No `t` dimension when no
    file has a date."""
    if not files:
        raise invalid_results(job_id, "contain no GeoTIFF raster files.")
    opened = [_open(path, label, job_id) for path, label in files]
    west, north, res_x, res_y = _align(opened, job_id)
    width = max(f.col + f.width for f in opened)
    height = max(f.row + f.height for f in opened)
    crs = opened[0].crs

    labels = [date for f in opened for date, _ in f.layers]
    temporal = any(d is not None for d in labels)
    if temporal and any(d is None for d in labels):
        raise invalid_results(job_id, "mix files with and without dates.")
    dates: list[str | None] = []
    date_values: dict[str | None, np.datetime64 | None] = {}
    for d in labels:
        if d in date_values:
            continue
        value = parse_label(d) if d is not None else None
        if d is not None and value is None:
            raise invalid_results(job_id, f"have an unreadable date {d!r}.")
        if value is not None and any(v == value for v in date_values.values()):
            date_values[d] = value  # another spelling of a date already listed
            continue
        date_values[d] = value
        dates.append(d)
    if temporal:
        dates.sort(key=lambda d: date_values[d])
    band_names: list[str] = []
    for f in opened:
        for _, b in f.layers:
            if b not in band_names:
                band_names.append(b)
    for f in opened:
        per_date: dict = {}
        for d, b in f.layers:
            per_date.setdefault(d, []).append(b)
        if any(sorted(v) != sorted(band_names) for v in per_date.values()):
            raise invalid_results(job_id, "do not have the same bands in every file.")
    if bands and all(isinstance(b, str) and b in band_names for b in bands):
        band_names = list(dict.fromkeys(bands))

    col0, col1, row0, row1 = 0, width, 0, height
    if bounds is not None:
        from executor_svc.processes.vector import transform_bounds

        w, s, e, n, src_crs = bounds
        w, s, e, n = transform_bounds(w, s, e, n, src_crs, crs)
        col0, col1 = _centre_range(west, res_x, width, w - res_x, e + res_x, +1)
        row0, row1 = _centre_range(north, res_y, height, s - res_y, n + res_y, -1)
        if col1 <= col0 or row1 <= row0:
            raise OpenEOError(
                "NoDataAvailable",
                f"load_result: the spatial extent does not intersect the results of job {job_id!r}.",
                400,
            )

    date_index = {}
    for d, value in date_values.items():
        date_index[d] = next(i for i, other in enumerate(dates) if date_values[other] == value) if temporal else 0
    band_index = {b: i for i, b in enumerate(band_names)}
    values = np.full((max(1, len(dates)), len(band_names), row1 - row0, col1 - col0), np.nan, dtype=np.float32)

    import rasterio
    from rasterio.windows import Window

    for f in opened:
        r0, r1 = max(row0, f.row), min(row1, f.row + f.height)
        c0, c1 = max(col0, f.col), min(col1, f.col + f.width)
        if r1 <= r0 or c1 <= c0:
            continue
        wanted = [(i, date_index[d], band_index[b]) for i, (d, b) in enumerate(f.layers) if b in band_index]
        if not wanted:
            continue
        window = Window(c0 - f.col, r0 - f.row, c1 - c0, r1 - r0)
        with rasterio.open(f.path) as src:
            block = src.read([i + 1 for i, _, _ in wanted], window=window, out_dtype="float32")
        if f.nodata is not None and not np.isnan(f.nodata):
            block[block == np.float32(f.nodata)] = np.nan
        for k, (_, ti, bi) in enumerate(wanted):
            target = values[ti, bi, r0 - row0 : r1 - row0, c0 - col0 : c1 - col0]
            np.copyto(target, block[k], where=~np.isnan(block[k]))

    xs = west + (np.arange(col0, col1) + 0.5) * res_x
    ys = north - (np.arange(row0, row1) + 0.5) * res_y
    coords: dict = {"bands": np.array(band_names, dtype=object), "y": ys, "x": xs}
    dims: tuple[str, ...] = ("t", "bands", "y", "x")
    if temporal:
        coords["t"] = np.array([date_values[d] for d in dates], dtype="datetime64[ns]")
    else:
        values = values[0]
        dims = dims[1:]
    attrs: dict = {"crs": _crs_attr(crs)}
    if len(xs) == 1 or len(ys) == 1:
        attrs.update(res_x=res_x, res_y=res_y, resolution=[res_x, res_y])
    meta = [m for m in (band_metadata or []) if isinstance(m, dict) and m.get("name") in band_names]
    if any(set(m) - {"name"} for m in meta):
        attrs["band_metadata"] = meta
    return xr.DataArray(values, dims=dims, coords=coords, attrs=attrs, name=None)


def extent_bounds(spatial_extent: Any) -> tuple[float, float, float, float, Any] | None:
    """(west, south, east, north, crs) of a bounding box or GeoJSON `spatial_extent` (None = no limit)."""
    if spatial_extent is None:
        return None
    if isinstance(spatial_extent, dict) and all(k in spatial_extent for k in ("west", "south", "east", "north")):
        try:
            w, s, e, n = (float(spatial_extent[k]) for k in ("west", "south", "east", "north"))
        except (TypeError, ValueError):
            raise OpenEOError("ProcessParameterInvalid", "load_result: spatial_extent needs numeric west, south, east and north.", 400) from None
        return w, s, e, n, spatial_extent.get("crs") or 4326
    from executor_svc.processes.errors import ProcessError
    from executor_svc.processes.vector import parse_geometries

    try:
        geoms, _ = parse_geometries(spatial_extent)
    except ProcessError as exc:
        raise OpenEOError(exc.code, f"load_result: {exc.message}", 400) from None
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        raise OpenEOError("ProcessParameterInvalid", "load_result: spatial_extent holds no geometry.", 400)
    return (min(g.bounds[0] for g in geoms), min(g.bounds[1] for g in geoms),
            max(g.bounds[2] for g in geoms), max(g.bounds[3] for g in geoms), 4326)


def filter_result_cube(cube: xr.DataArray, *, spatial_extent: Any = None, temporal_extent: Any = None,
                       bands: list | None = None) -> xr.DataArray:
    """The `load_result` filters with the semantics of the filter processes: pixel centres in the
    bounding box (or the polygons: other pixels of their bounding box become NaN), the left-closed
    temporal interval, the bands (names or common names) in the order given."""
    from executor_svc.processes import REGISTRY, ProcessError

    try:
        if spatial_extent is not None:
            if isinstance(spatial_extent, dict) and "west" in spatial_extent:
                cube = REGISTRY.call("filter_bbox", {"data": cube, "extent": spatial_extent})
            else:
                cube = REGISTRY.call("filter_spatial", {"data": cube, "geometries": spatial_extent})
            if cube.sizes["x"] == 0 or cube.sizes["y"] == 0:
                raise OpenEOError("NoDataAvailable", "load_result: the spatial extent does not intersect the results.", 400)
        if temporal_extent is not None and "t" in cube.dims:
            cube = REGISTRY.call("filter_temporal", {"data": cube, "extent": temporal_extent})
        if bands is not None:
            if not bands:
                raise OpenEOError("ProcessParameterInvalid", "load_result: at least one band must be selected.", 400)
            cube = REGISTRY.call("filter_bands", {"data": cube, "bands": list(bands)})
    except ProcessError as exc:
        message = exc.message.replace("filter_bands:", "load_result:").replace("filter_temporal:", "load_result:")
        raise OpenEOError(exc.code, message, 400) from None
    return cube


def cube_from_result_files(
    files: list[tuple[str, str | None]],
    *,
    job_id: str,
    spatial_extent: Any = None,
    temporal_extent: Any = None,
    bands: list | None = None,
    band_metadata: list[dict] | None = None,
) -> xr.DataArray:
    """read_result_cube + filter_result_cube (CPU: run in the pool)."""
    cube = read_result_cube(files, job_id=job_id, bounds=extent_bounds(spatial_extent), bands=bands,
                            band_metadata=band_metadata)
    return filter_result_cube(cube, spatial_extent=spatial_extent, temporal_extent=temporal_extent, bands=bands)
