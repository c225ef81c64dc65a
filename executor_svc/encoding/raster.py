"""Cube → canonical raster pieces (pure): dims, georeferencing, band and date labels."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine

from backend_common.errors import OpenEOError


def is_raster_cube(value) -> bool:
    return isinstance(value, xr.DataArray) and "x" in value.dims and "y" in value.dims


def is_vector_cube(value) -> bool:
    return isinstance(value, xr.DataArray) and "geometry" in value.dims and "geometries" in value.attrs


def canonical(cube: xr.DataArray) -> xr.DataArray:
    """(t, bands, y, x) with every dimension present (length-1 t/bands added; extra dims refused);
    y north-to-south."""
    extra = [d for d in cube.dims if d not in ("t", "bands", "y", "x")]
    if extra:
        raise OpenEOError(
            "FormatUnsuitable",
            f"The result cube has dimension(s) {extra} that a raster file cannot hold; reduce them first.",
            400,
        )
    if "t" not in cube.dims:
        cube = cube.expand_dims("t", 0)
    if "bands" not in cube.dims:
        cube = cube.expand_dims("bands", 1)
    cube = cube.transpose("t", "bands", "y", "x")
    if cube.sizes["y"] > 1 and float(cube.y[0]) < float(cube.y[-1]):
        cube = cube.isel(y=slice(None, None, -1))
    return cube


def epsg_of(cube: xr.DataArray) -> int | None:
    crs = cube.attrs.get("crs")
    if crs is None:
        return None
    if isinstance(crs, (int, np.integer)):
        return int(crs)
    text = str(crs)
    if text.upper().startswith("EPSG:"):
        return int(text.split(":", 1)[1])
    try:
        from pyproj import CRS

        return CRS.from_user_input(crs).to_epsg()
    except Exception:  # noqa: BLE001
        return None


def _step(values: np.ndarray, fallback: float) -> float:
    return float(values[1] - values[0]) if len(values) > 1 else fallback


def transform_of(cube: xr.DataArray) -> Affine:
    """North-up affine transform of pixel edges from the pixel-centre coordinates."""
    return transform_from_centres(cube.x.values, cube.y.values, cube.attrs.get("res_x"), cube.attrs.get("res_y"))


def transform_from_centres(xs, ys, res_x: float | None = None, res_y: float | None = None) -> Affine:
    """North-up affine transform of pixel edges from pixel-centre coordinates (pure)."""
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    # the coordinates' step when a side has several pixels; the cube's pixel size (attrs) when
    # it has one; the other side's as the last resort
    res_x = abs(_step(xs, 0.0)) or res_x or abs(_step(ys, 0.0)) or res_y or 1.0
    res_y = abs(_step(ys, 0.0)) or res_y or res_x
    west = xs[0] - res_x / 2
    north = ys.max() + res_y / 2
    return Affine(res_x, 0.0, west, 0.0, -res_y, north)


def bounds_of(cube: xr.DataArray) -> tuple[float, float, float, float]:
    t = transform_of(cube)
    w, n = t.c, t.f
    e = w + t.a * cube.sizes["x"]
    s = n + t.e * cube.sizes["y"]
    return (w, s, e, n)


def band_labels(cube: xr.DataArray) -> list[str]:
    if "bands" in cube.coords:
        return [str(b) for b in cube.bands.values]
    # no labels: "band" (the cube's xarray name is a node id, not a label)
    return ["band"] * cube.sizes.get("bands", 1)


def t_labels(cube: xr.DataArray) -> list[str | None]:
    """Text labels of the t dimension: RFC 3339 for dates, the label itself otherwise (periods such
    as `2024-06` of aggregate_temporal_period, renamed labels); None for a length-1 t without
    coordinate."""
    if "t" not in cube.coords:
        return [None] * cube.sizes.get("t", 1)
    return [date_label(value) for value in cube.t.values]


def date_labels(cube: xr.DataArray) -> list[str | None]:
    """RFC 3339 labels of the t dimension; None where a label is not an instant (a period such as
    `2024-06`, a renamed label) or there is no coordinate."""
    return [label if label and is_instant(label) else None for label in t_labels(cube)]


_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def is_instant(label: str) -> bool:
    """Whether a t label is an RFC 3339 date-time (what `date_label` makes of a date)."""
    return bool(_INSTANT.match(label))


def date_label(value) -> str:
    """RFC 3339 label of one t coordinate value (pure)."""
    if isinstance(value, (np.datetime64, pd.Timestamp)):
        return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def file_date(label: str | None) -> str:
    """Compact date for file names: 2024-05-01T00:00:00Z → 2024-05-01 (time kept when not midnight);
    other labels (periods such as 2024-06) as they are, made safe for a file name."""
    if not label:
        return ""
    if not is_instant(label):
        return re.sub(r"[^A-Za-z0-9._-]", "_", label)
    if label.endswith("T00:00:00Z"):
        return label[:10]
    return label[:11] + label[11:].replace(":", "")


def bbox_wgs84(cube: xr.DataArray) -> list[float] | None:
    epsg = epsg_of(cube)
    if epsg is None:
        return None
    w, s, e, n = bounds_of(cube)
    if epsg == 4326:
        return [w, s, e, n]
    from pyproj import Transformer

    transformer = Transformer.from_crs(epsg, 4326, always_xy=True)
    return list(transformer.transform_bounds(w, s, e, n, densify_pts=21))


def band_statistics(values: np.ndarray, nodata: float | None = None) -> dict:
    """Minimum, maximum, mean, (population) standard deviation and valid share of one band,
    ignoring NaN and the `nodata` value (pure). The GeoTIFF writers store exactly these numbers in
    the file (`gdal_statistics`) and the job's STAC `raster:bands` carry them, so both agree."""
    values = np.asarray(values)
    valid = np.isfinite(values) if np.issubdtype(values.dtype, np.floating) else np.ones(values.shape, bool)
    if nodata is not None and not np.isnan(float(nodata)):
        valid &= values != nodata
    finite = values[valid] if not valid.all() else values.ravel()
    if finite.size == 0:
        return {"valid_percent": 0.0}
    mean = float(finite.mean(dtype=np.float64))
    # the squared deviations in float64 a block at a time: no float64 copy of a large band
    squares = 0.0
    for start in range(0, finite.size, _BLOCK):
        deviation = finite[start : start + _BLOCK].astype(np.float64) - mean
        squares += float(np.dot(deviation, deviation))
    return {
        "minimum": float(finite.min()),
        "maximum": float(finite.max()),
        "mean": mean,
        "stddev": float(np.sqrt(squares / finite.size)),
        "valid_percent": round(100.0 * finite.size / values.size, 3),
    }


_BLOCK = 1 << 20


class StatisticsAccumulator:
    """`band_statistics` of bands seen a block at a time (a chunked cube's file, written window by
    window): count, minimum and maximum exactly, mean and standard deviation by merging each
    block's exact (two-pass, float64) mean and sum of squared deviations (Chan et al.); equal to
    `band_statistics` up to rounding."""

    def __init__(self, bands: int, nodata: float | None = None):
        self.nodata = nodata
        self.total = 0
        self.count = np.zeros(bands, dtype=np.int64)
        self.mean = np.zeros(bands)
        self.m2 = np.zeros(bands)
        self.minimum = np.full(bands, np.inf)
        self.maximum = np.full(bands, -np.inf)

    def add(self, block: np.ndarray) -> None:
        """`block` is (bands, rows, cols)."""
        self.total += block[0].size if block.shape[0] else 0
        for band, values in enumerate(block):
            valid = np.isfinite(values) if np.issubdtype(values.dtype, np.floating) else np.ones(values.shape, bool)
            if self.nodata is not None and not np.isnan(float(self.nodata)):
                valid &= values != self.nodata
            finite = values[valid]
            n = finite.size
            if n == 0:
                continue
            mean = float(finite.mean(dtype=np.float64))
            deviation = finite.astype(np.float64) - mean
            m2 = float(np.dot(deviation, deviation))
            count = int(self.count[band])
            both = count + n
            delta = mean - self.mean[band]
            self.mean[band] += delta * n / both
            self.m2[band] += m2 + delta * delta * count * n / both
            self.count[band] = both
            self.minimum[band] = min(self.minimum[band], float(finite.min()))
            self.maximum[band] = max(self.maximum[band], float(finite.max()))

    def statistics(self, band: int) -> dict:
        count = int(self.count[band])
        if count == 0:
            return {"valid_percent": 0.0}
        return {"minimum": float(self.minimum[band]), "maximum": float(self.maximum[band]),
                "mean": float(self.mean[band]), "stddev": float(np.sqrt(self.m2[band] / count)),
                "valid_percent": round(100.0 * count / self.total, 3)}

    def gdal(self, band: int) -> dict[str, str]:
        stats = self.statistics(band)
        if "minimum" not in stats:
            return {}
        return {GDAL_STATISTICS[key]: repr(float(value)) for key, value in stats.items()}


#: band_statistics' keys → GDAL's band metadata keys (what GDAL's ComputeStatistics writes and
#: QGIS, GDAL and rasterio read to stretch a band)
GDAL_STATISTICS = {"minimum": "STATISTICS_MINIMUM", "maximum": "STATISTICS_MAXIMUM", "mean": "STATISTICS_MEAN",
                   "stddev": "STATISTICS_STDDEV", "valid_percent": "STATISTICS_VALID_PERCENT"}


def gdal_statistics(values: np.ndarray, nodata: float | None = None) -> dict[str, str]:
    """GDAL's band metadata items of `band_statistics` (none for a band without valid pixels:
    GDAL writes none either) (pure)."""
    stats = band_statistics(values, nodata)
    if "minimum" not in stats:
        return {}
    return {GDAL_STATISTICS[key]: repr(float(value)) for key, value in stats.items()}


def most_recent_mosaic(value):
    """One image of a raster cube with several dates, as map tile services make one (Sentinel Hub's
    default `mostRecent` mosaicking, a mosaic with the latest image on top): each pixel takes the
    values of the most recent date at which any of its bands has data (not NaN), all bands from
    that one date; a pixel without data on any date stays no-data. A cube with one date or none,
    or any other value, is returned unchanged."""
    if not is_raster_cube(value) or "t" not in value.dims or value.sizes["t"] < 2:
        return value
    try:
        cube = value.sortby("t")
    except (TypeError, ValueError):
        cube = value
    other = [d for d in cube.dims if d not in ("t", "y", "x")]
    valid = cube.notnull()
    if other:
        valid = valid.any(other)
    valid = valid.transpose("t", "y", "x").values
    last = cube.sizes["t"] - 1
    newest_valid = last - np.argmax(valid[::-1], axis=0)  # for a pixel without data: the last date
    picked = cube.isel(t=xr.DataArray(newest_valid, dims=("y", "x")))
    return picked.drop_vars("t", errors="ignore").transpose(*[d for d in value.dims if d != "t"])
