"""Expected values for end-to-end tests, recomputed independently from the emulator's synthetic
world (sentinelhub_emulator.world) at the pixel centres of the raster the backend returned."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import rasterio
from pyproj import Transformer

from sentinelhub_emulator import world

S2 = "sentinel-2-l2a"


def read_raster(path) -> tuple[np.ndarray, dict]:
    with rasterio.open(path) as ds:
        data = ds.read().astype(np.float64)
        meta = {"transform": ds.transform, "crs": ds.crs, "width": ds.width, "height": ds.height,
                "descriptions": ds.descriptions, "nodata": ds.nodata}
    return data, meta


def pixel_lonlat(meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of every pixel centre of a raster (shape (height, width))."""
    t = meta["transform"]
    cols, rows = np.meshgrid(np.arange(meta["width"]) + 0.5, np.arange(meta["height"]) + 0.5)
    xs = t.c + cols * t.a + rows * t.b
    ys = t.f + cols * t.d + rows * t.e
    epsg = meta["crs"].to_epsg()
    if epsg == 4326:
        return xs, ys
    lon, lat = Transformer.from_crs(epsg, 4326, always_xy=True).transform(xs, ys)
    return np.asarray(lon), np.asarray(lat)


def first_acquisition(start: date, collection: str = S2, *, clear: bool = True) -> datetime:
    """The first acquisition on or after `start` (with low scene cloud cover if `clear`)."""
    for d in world.acquisition_dates(collection, start, start + timedelta(days=60)):
        if not clear or world.scene_cloud_cover(collection, d) < 30:
            return d
    raise AssertionError("no acquisition found")


def day_interval(d: datetime) -> list[str]:
    """openEO temporal extent [day, next day) around an acquisition."""
    day = d.astimezone(timezone.utc).date()
    return [day.isoformat(), (day + timedelta(days=1)).isoformat()]


def bands_at(d: datetime | None, lon, lat, *bands: str, collection: str = S2) -> dict[str, np.ndarray]:
    return world.band_values(collection, bands, d, lon, lat)


def ndvi(nir: np.ndarray, red: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (nir - red) / (nir + red)
