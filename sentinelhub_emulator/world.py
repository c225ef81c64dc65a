"""A deterministic synthetic Earth for the Sentinel Hub emulator.

Pure module (no I/O, no global state besides caches): every pixel value is a function of
``(collection, band, date, lon, lat)`` only. Tests elsewhere import it to recompute expected rasters.

Conventions
-----------
* All acquisitions cover the whole globe (global schedule anchored at a fixed epoch per collection,
  fixed acquisition time of day), so ``dataMask`` is 1 everywhere (it is 0 only outside a request geometry).
* Sentinel-2 optical bands are generated as integer DNs; ``REFLECTANCE = DN / 10000``.
* ``scene_cloud_cover(collection, date)`` is the catalog ``eo:cloud_cover``; the per-pixel cloud field
  ``cloud_field`` is uniform in [0, 1) so that the fraction of pixels with ``cloud_field < cc/100``
  (SCL classes 8/9, Landsat BQA cloud) matches the scene cloud cover on average.
"""
from __future__ import annotations

from datetime import date as _date
from datetime import datetime, time, timedelta, timezone

import numpy as np

from .crs import parse_crs, to_lonlat_transformer

UTC = timezone.utc


from .specs import (  # noqa: F401 - re-exported: the world's collections are part of its interface
    ALIASES,
    COLLECTIONS,
    DATAMASK as _DATAMASK,
    S2_ALL as _S2_ALL,
    S2_ANGLES as _S2_ANGLES,
    S2_OPTICAL as _S2_OPTICAL,
    BandSpec,
    CollectionSpec,
)

ANGLE_CELL_DEG = 0.045  # the angle bands' ~5 km grid (nearest neighbour)

# Landsat QA_PIXEL-like values (clear land / cloud).
BQA_CLEAR = 21824
BQA_CLOUD = 55052


def collection_spec(collection: str) -> CollectionSpec:
    if collection.startswith("byoc-"):
        from .byoc import spec_for

        try:
            return spec_for(collection)
        except KeyError:
            raise KeyError(f"Unknown collection {collection}") from None
    cid = ALIASES.get(collection, collection)
    try:
        return COLLECTIONS[cid]
    except KeyError:
        raise KeyError(f"Unknown collection {collection}") from None


# --------------------------------------------------------------------------- dates


def _as_utc(value: datetime | _date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.combine(value, time(0, 0), tzinfo=UTC)


def acquisition_dates(collection: str, start: datetime | _date, end: datetime | _date) -> list[datetime]:
    """Acquisition datetimes (UTC, ascending) with ``start <= t <= end`` (both inclusive).

    Timeless collections (``dem``) have no acquisitions.
    """
    spec = collection_spec(collection)
    if spec.epoch is None:
        return []
    start, end = _as_utc(start), _as_utc(end)
    if spec.end is not None:
        end = min(end, spec.end)
    out = _schedule(spec.epoch, spec.revisit_days, start, end)
    if spec.descending_epoch is not None:
        out = sorted(out + _schedule(spec.descending_epoch, spec.revisit_days, start, end))
    return out


def _schedule(epoch: datetime, revisit_days: int, start: datetime, end: datetime) -> list[datetime]:
    if end < epoch or end < start:
        return []
    step = timedelta(days=revisit_days)
    first = max(start, epoch)
    k = -((epoch - first) // step)  # ceil((first - epoch) / step)
    t = epoch + k * step
    out = []
    while t <= end:
        out.append(t)
        t += step
    return out


def orbit_state(collection: str, date: datetime) -> str | None:
    """"ascending" or "descending" for a collection with both orbit directions, else None."""
    spec = collection_spec(collection)
    if spec.descending_epoch is None:
        return None
    return "descending" if _as_utc(date).time() == spec.descending_epoch.time() else "ascending"


def _day_number(d: datetime) -> int:
    return _as_utc(d).date().toordinal()


def _seed(text: str) -> int:
    h = 1469598103934665603
    for ch in text.encode():
        h = ((h ^ ch) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def _hash01(*keys) -> np.ndarray:
    """Uniform [0,1) hash of integer arrays/scalars (keys folded, then one splitmix64 round), vectorised."""
    with np.errstate(over="ignore"):
        h = np.uint64(0x9E3779B97F4A7C15)
        mults = (0xD6E8FEB86659FD93, 0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3)
        for i, k in enumerate(keys):
            if np.ndim(k):
                ku = np.asarray(k).astype(np.int64).view(np.uint64)
            else:
                ku = np.uint64(int(k) & 0xFFFFFFFFFFFFFFFF)
            h = h ^ (ku * np.uint64(mults[i % 4]))
        h = h ^ (h >> np.uint64(30))
        h = h * np.uint64(0xBF58476D1CE4E5B9)
        h = h ^ (h >> np.uint64(27))
        h = h * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
        return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def scene_cloud_cover(collection: str, date: datetime | _date) -> float:
    """Scene cloud cover in percent (catalog ``eo:cloud_cover``); 0 for collections without cloud cover.

    Deterministic in the UTC day: about 30 % of days are cloudy (60..100 %), the rest 0..30 %.
    """
    spec = collection_spec(collection)
    if not spec.has_cloud_cover:
        return 0.0
    day = _day_number(date)
    s = _seed(spec.id if spec.id not in _S2_ALL else "sentinel-2") % 1000003
    u1 = float(_hash01(day, s, 1))
    u2 = float(_hash01(day, s, 2))
    cc = 60.0 + 40.0 * u2 if u1 < 0.3 else 30.0 * u2
    return round(cc, 2)


CLOUD_CELL_DEG = 0.01  # size of the cells of the per-pixel cloud field


def cloud_field(collection: str, date: datetime | _date, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Per-pixel uniform [0,1) field; a pixel is cloudy when ``cloud_field < cc/100``."""
    spec = collection_spec(collection)
    s = _seed(spec.id if spec.id not in _S2_ALL else "sentinel-2") % 1000003
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    shape = np.broadcast_shapes(lon.shape, lat.shape)
    lon, lat = _separable(lon, lat)
    ix = np.floor(lon / CLOUD_CELL_DEG).astype(np.int64)
    iy = np.floor(lat / CLOUD_CELL_DEG).astype(np.int64)
    return np.broadcast_to(_hash01(ix, iy, _day_number(date), s), shape)


def mosaic_dates(collection: str, start: datetime, end: datetime, mosaicking_order: str = "mostRecent",
                 max_cloud_coverage: float = 100.0, orbit_direction: str | None = None,
                 options: dict | None = None) -> list[datetime]:
    """Acquisitions in ``[start, end]`` passing ``maxCloudCoverage``, in mosaicking order.

    The first element is what SIMPLE mosaicking shows (every acquisition covers every pixel), the whole
    list (one entry per UTC day) is the ORBIT ``samples``/``scenes`` order.
    """
    spec = collection_spec(collection)
    dates = acquisition_dates(collection, start, end)
    if spec.has_cloud_cover:
        dates = [d for d in dates if scene_cloud_cover(collection, d) <= max_cloud_coverage]
    if orbit_direction is not None:
        dates = [d for d in dates if orbit_state(collection, d) == orbit_direction.lower()]
    if options:
        from . import models

        dates = [d for d in dates if models.scene_selected(spec.id, d, options)]
    if mosaicking_order == "leastRecent":
        return dates
    if mosaicking_order == "leastCC":
        return sorted(dates, key=lambda d: (scene_cloud_cover(collection, d), -d.timestamp()))
    return list(reversed(dates))


# --------------------------------------------------------------------------- geometry helpers


def pixel_centers(bbox, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x, y), each of shape (height, width), in the bbox CRS; row 0 = north."""
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    dx = (maxx - minx) / width
    dy = (maxy - miny) / height
    xs = minx + (np.arange(width, dtype=np.float64) + 0.5) * dx
    ys = maxy - (np.arange(height, dtype=np.float64) + 0.5) * dy
    return np.broadcast_to(xs[None, :], (height, width)), np.broadcast_to(ys[:, None], (height, width))


def pixel_centers_lonlat(bbox, crs, width: int, height: int, *, views: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre lon/lat (EPSG:4326, degrees), shape (height, width), for a request grid.

    ``crs`` may be an EPSG code, ``"EPSG:<code>"`` or an OGC CRS URL. With ``views=True`` an EPSG:4326
    grid comes back as read-only broadcast views (same values; lets the world compute separable terms once
    per row/column).
    """
    code = parse_crs(crs)
    x, y = pixel_centers(bbox, width, height)
    if code == 4326:
        if views:
            return x, y
        return np.ascontiguousarray(x), np.ascontiguousarray(y)
    lon, lat = to_lonlat_transformer(code).transform(np.ascontiguousarray(x), np.ascontiguousarray(y))
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


# --------------------------------------------------------------------------- surface model


def _season(d: datetime) -> float:
    doy = _as_utc(d).timetuple().tm_yday
    return 0.5 + 0.5 * np.cos(2 * np.pi * (doy - 196) / 365.25)  # 1 in mid-July, 0 in mid-January


def _wave(x: np.ndarray) -> np.ndarray:
    """Cheap smooth periodic wave in [-1, 1] (period 1), a parabolic stand-in for a sine: 8·f·(1−f) − 1
    with f = frac(x). Works in place on ``x`` (always a temporary here) to limit allocations."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        f = x - np.floor(x)
        return 8.0 * f * (1.0 - f) - 1.0
    g = np.floor(x)
    np.subtract(x, g, out=x)  # x = f
    np.subtract(1.0, x, out=g)  # g = 1 - f
    x *= 8.0  # exact (power of two)
    x *= g
    x -= 1.0
    return x


def _separable(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For broadcast grids (lon constant down columns, lat along rows) return a (1, W) row of lon and a
    (H, 1) column of lat; element-wise terms of one variable are then computed once per row/column and
    give bit-identical results after broadcasting. Otherwise return the arrays unchanged."""
    if lon.ndim == 2 and lat.ndim == 2 and lon.strides[0] == 0 and lat.strides[1] == 0:
        return lon[:1, :], lat[:, :1]
    return lon, lat


def _landscape(lon: np.ndarray, lat: np.ndarray) -> dict[str, np.ndarray]:
    """Date-independent land surface: vegetation fraction, water mask, relief (all in [0,1])."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    shape = np.broadcast_shapes(lon.shape, lat.shape)
    lon, lat = _separable(lon, lat)
    a = _wave(lon * 5.9 + 0.21) * _wave(lat * 6.5 + 0.39)
    b = _wave(lon * 33.6 - lat * 27.5)
    veg = np.clip(0.55 + 0.35 * a + 0.15 * b, 0.0, 1.0)
    water = (_wave(lon * 2.07 + 0.66) * _wave(lat * 2.71 + 0.06)) > 0.8
    relief = np.clip(0.5 + 0.3 * _wave(lon * 0.8 + 0.08) * _wave(lat * 1.1 + 0.25) + 0.2 * b, 0.0, 1.0)
    return {"veg": np.broadcast_to(veg, shape), "water": np.broadcast_to(water, shape),
            "relief": np.broadcast_to(relief, shape)}


# Reflectance spectra (bare soil, dense vegetation, water, cloud) for S2 bands.
_S2_SPECTRA = {
    #        soil   veg    water  cloud
    "B01": (0.10, 0.03, 0.06, 0.42),
    "B02": (0.11, 0.04, 0.05, 0.43),
    "B03": (0.14, 0.08, 0.04, 0.44),
    "B04": (0.18, 0.04, 0.03, 0.45),
    "B05": (0.20, 0.12, 0.025, 0.45),
    "B06": (0.22, 0.30, 0.02, 0.46),
    "B07": (0.23, 0.36, 0.02, 0.46),
    "B08": (0.24, 0.40, 0.015, 0.47),
    "B8A": (0.25, 0.41, 0.012, 0.47),
    "B09": (0.08, 0.12, 0.005, 0.30),
    "B10": (0.004, 0.004, 0.002, 0.12),
    "B11": (0.30, 0.20, 0.008, 0.38),
    "B12": (0.24, 0.10, 0.005, 0.32),
}
# Landsat OLI band -> equivalent S2 band for the spectra.
_LANDSAT_EQ = {"B01": "B01", "B02": "B02", "B03": "B03", "B04": "B04", "B05": "B8A", "B06": "B11", "B07": "B12"}


def _optical_reflectance(spec_key: str, land: dict, season: float, cloudy: np.ndarray, day: int) -> np.ndarray:
    soil, veg, water, cloud = _S2_SPECTRA[spec_key]
    r = land["veg"] * (0.6 + 0.4 * season)
    r *= veg - soil
    r += soil
    np.copyto(r, water, where=land["water"])
    r *= 0.97 + 0.06 * ((day % 7) / 7.0)
    np.copyto(r, cloud + 0.05 * land["relief"], where=cloudy)
    return r


def band_values(collection: str, bands, date: datetime | None, lon, lat, units=None,
                options: dict | None = None) -> dict[str, np.ndarray]:
    """Vectorised values of several bands at (lon, lat) for one acquisition ``date``.

    ``units``: None (band default unit), a single unit for all bands, or a list (one per band).
    ``options``: the request's ``dataFilter`` and ``processing`` entries that change values
    (``backCoeff``, ``minQa``, ``demInstance``, ``egm``; see ``models``).
    Returns float64 arrays shaped like ``lon``; ``dataMask`` is 1 where the product has data (all of
    it except S5P pixels below ``minQa``), band values there are the collection's no-data.
    """
    from . import models  # models builds on this module
    spec = collection_spec(collection)
    bands = list(bands)
    if units is None or isinstance(units, str):
        units = [units] * len(bands)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if lon.ndim == 0 and lat.ndim == 0:  # scalar point: compute on 1-element arrays, return 0-d arrays
        res = band_values(collection, bands, date, lon.reshape(1), lat.reshape(1), units, options)
        return {k: v.reshape(()) for k, v in res.items()}
    if lon.shape != lat.shape:
        lon, lat = np.broadcast_arrays(lon, lat)
    if spec.cell_deg:  # a coarse product: one value per native pixel (a broadcast grid stays one)
        shape = lon.shape
        row, col = _separable(lon, lat)
        lon = np.broadcast_to((np.floor(row / spec.cell_deg) + 0.5) * spec.cell_deg, shape)
        lat = np.broadcast_to((np.floor(col / spec.cell_deg) + 0.5) * spec.cell_deg, shape)
    land = _landscape(lon, lat)
    out: dict[str, np.ndarray] = {}
    if spec.epoch is not None and date is None:
        raise ValueError(f"{spec.id} needs an acquisition date")
    season = _season(date) if date is not None else 0.5
    day = _day_number(date) if date is not None else 0
    cloudy = None
    u = None
    cc = 0.0
    if spec.has_cloud_cover:
        cc = scene_cloud_cover(spec.id, date)
        u = cloud_field(spec.id, date, lon, lat)
        cloudy = u < cc / 100.0
    else:
        cloudy = np.zeros(np.broadcast_shapes(lon.shape, lat.shape), dtype=bool)
    ctx = models.Context(spec, land, season, day, date, cloudy, u, lon, lat, dict(options or {}))
    for band, unit in zip(bands, units):
        bspec = spec.band(band)  # KeyError for unknown bands
        unit = unit or bspec.default_unit
        if unit not in bspec.units:
            raise ValueError(f"Unit {unit} is not supported for band {band} of {spec.id}")
        if band == "dataMask":
            ok = models.valid(ctx, None)
            out[band] = np.ones_like(lon) if ok is None else ok.astype(np.float64)
            continue
        modelled = models.value(ctx, band, None)
        if modelled is not None:
            val = modelled * bspec.units[unit]
        elif spec.id in _S2_ALL and band in _S2_SPECTRA:
            refl = _optical_reflectance(band, land, season, cloudy, day)
            dn = np.round(np.clip(refl, 0.0, 1.0) * 10000.0)
            val = dn / 10000.0 if unit == "REFLECTANCE" else dn
        elif band == "SCL":
            scl = np.where(land["veg"] > 0.5, 4.0, 5.0)
            scl = np.where(land["water"], 6.0, scl)
            scl = np.where(cloudy, np.where(u < 0.6 * cc / 100.0, 9.0, 8.0), scl)
            val = scl
        elif band == "CLD":
            frac = np.where(cloudy, 1.0 - u / max(cc / 100.0, 1e-9), 0.0)
            val = np.where(cloudy, np.round(50.0 + 50.0 * frac), np.floor(u * 10.0 * (cc / 100.0)))
        elif band == "CLP":  # s2cloudless probability, above its 0.4 threshold exactly where cloudy
            frac = np.where(cloudy, 1.0 - u / max(cc / 100.0, 1e-9), 0.0)
            val = np.round(255.0 * np.where(cloudy, 0.55 + 0.45 * frac, 0.35 * (1.0 - u)))
        elif band == "CLM":
            val = np.where(cloudy, 1.0, 0.0)
        elif band in _S2_ANGLES:
            val = _angle(band, date, lon, lat)
        elif band == "SNW":
            val = np.zeros_like(lon)
        elif band == "AOT":
            dn = np.round((0.05 + 0.25 * land["relief"] * (0.5 + 0.5 * season)) * 1000.0)
            val = dn / 1000.0 if unit == "OPTICAL_DEPTH" else dn
        elif spec.id == "sentinel-1-grd" and band in ("VV", "VH"):
            speck = 0.8 + 0.4 * _hash01(np.floor(lon * 2000.0).astype(np.int64),
                                        np.floor(lat * 2000.0).astype(np.int64), day, 7)
            vv = (0.03 + 0.25 * land["veg"] * (0.7 + 0.3 * season)) * speck
            vv = np.where(land["water"], 0.004 * speck, vv)
            val = np.clip(vv if band == "VV" else vv * (0.18 + 0.1 * land["veg"]), 0.001, 0.5)
            val = models.value(ctx, band, val)  # the requested backscatter coefficient
        elif spec.id == "landsat-ot-l2" and band in _LANDSAT_EQ:
            refl = _optical_reflectance(_LANDSAT_EQ[band], land, season, cloudy, day)
            val = np.round(np.clip(refl, 0.0, 1.0) * 10000.0) / 10000.0
        elif band == "B10":  # Landsat surface temperature
            t = 268.0 + 30.0 * season + 8.0 * (1.0 - land["veg"]) - 10.0 * land["relief"]
            val = np.round(np.where(cloudy, t - 25.0, t), 2)
        elif band == "BQA":
            val = np.where(cloudy, float(BQA_CLOUD), float(BQA_CLEAR))
        elif band == "DEM":
            h = 3000.0 * land["relief"] ** 2
            val = np.round(np.where(land["water"], 0.0, h), 1)
        else:  # pragma: no cover - every declared band is handled above
            raise KeyError(band)
        ok = models.valid(ctx, band)
        out[band] = val if ok is None else np.where(ok, val, spec.nodata)
    return out


def _angle(band: str, date: datetime, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Plausible Sentinel-2 angles in degrees, constant over ANGLE_CELL_DEG cells: the sun's from
    latitude and season (a 10:30 morning overpass), the view's across a swath."""
    glon = (np.floor(lon / ANGLE_CELL_DEG) + 0.5) * ANGLE_CELL_DEG
    glat = (np.floor(lat / ANGLE_CELL_DEG) + 0.5) * ANGLE_CELL_DEG
    doy = _as_utc(date).timetuple().tm_yday
    declination = 23.44 * np.sin(2 * np.pi * (284 + doy) / 365.0)
    across = _wave(glon * 0.37)  # position across the swath, -1..1
    if band == "sunZenithAngles":
        return np.round(np.clip(np.abs(glat - declination) + 12.0 + 0.5 * across, 0.0, 89.0), 4)
    if band == "sunAzimuthAngles":
        return np.round(np.mod(150.0 + 0.3 * glat + 3.0 * across, 360.0), 4)
    if band == "viewZenithMean":
        return np.round(5.75 + 5.75 * across, 4)
    return np.round(np.where(across >= 0.0, 105.0, 285.0) + 2.0 * _wave(glat * 0.5), 4)  # viewAzimuthMean


def band_value(collection: str, band: str, date: datetime | None, lon, lat, units: str | None = None,
               options: dict | None = None) -> np.ndarray:
    """Vectorised value of one band (default unit unless ``units`` given) at (lon, lat) on ``date``."""
    return band_values(collection, [band], date, lon, lat, units, options)[band]
