"""Cloud Optimized GeoTIFFs of small rasters written with tifffile (CPU work: run in an executor).

A raster of at most `MAX_SIDE` px a side has no overviews (GDAL's COG rule) and only a few
256 px tiles, so its COG is one IFD followed by the tiles in row-major order. tifffile writes
exactly that (IFD at offset 8, tiles after it in order) and compresses the tiles in parallel with
libdeflate through imagecodecs, without GDAL's fixed per-file work (datasets, block cache, CRS
comparisons), which was most of the time of a 512 px write. The file carries what GDAL's COG
driver writes that readers use: GeoTIFF keys of the EPSG code, the grid, band descriptions,
band statistics and tags (GDAL_METADATA), no-data (GDAL_NODATA), pixel interleaving of bands. It lacks only GDAL's
own layout hints (the "ghost" header and block leaders), which no reader needs.

`small_cog` answers None for anything it does not cover (a larger raster, more than MAX_BYTES of
pixels, a rotated or south-up grid, a CRS that is not a plain 2D EPSG code); the caller then
writes with GDAL."""

from __future__ import annotations

import functools
import io
import os
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import tifffile

#: Largest side covered (GDAL's COG driver makes no overviews up to one 512 px block).
MAX_SIDE = 512
#: Largest raster covered (the file is made in memory; many bands, e.g. time_as_bands over a
#: year, go to GDAL, which writes to disk)
MAX_BYTES = 64 * 1024 * 1024
TILE = 256

#: compression option -> (tifffile compression, its arguments); levels as in `gtiff.cog_options`
COMPRESSIONS = {
    "deflate": ("adobe_deflate", {"level": 3}),
    "lzw": ("lzw", None),
    "zstd": ("zstd", {"level": 9}),  # GDAL's default ZSTD_LEVEL
    "none": (None, None),
}

DTYPES = (np.float32, np.float64, np.uint8, np.uint16, np.int16, np.int32, np.uint32)

# GeoTIFF tag and key numbers (OGC GeoTIFF 1.1)
MODEL_PIXEL_SCALE = 33550
MODEL_TIEPOINT = 33922
GEO_KEY_DIRECTORY = 34735
GDAL_METADATA = 42112
GDAL_NODATA = 42113
GT_MODEL_TYPE, GT_RASTER_TYPE = 1024, 1025
GEOGRAPHIC_TYPE, PROJECTED_CS_TYPE = 2048, 3072
MODEL_PROJECTED, MODEL_GEOGRAPHIC, RASTER_PIXEL_IS_AREA = 1, 2, 1


@functools.lru_cache(maxsize=512)
def geo_keys(epsg: int | None) -> tuple[int, ...] | None:
    """The GeoKeyDirectory of a plain 2D projected or geographic EPSG code, () without a CRS,
    None for a code this does not cover (unknown, compound, 3D, or beyond a GeoKey's 16 bits)."""
    if not epsg:
        return ()
    if not 0 < int(epsg) < 65535:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_epsg(int(epsg))
    except CRSError:
        return None
    if len(crs.axis_info) != 2 or crs.is_bound or crs.is_compound:
        return None
    if crs.is_projected:
        model, key = MODEL_PROJECTED, PROJECTED_CS_TYPE
    elif crs.is_geographic:
        model, key = MODEL_GEOGRAPHIC, GEOGRAPHIC_TYPE
    else:
        return None
    # header (version 1, revision 1.0, 3 keys), then (key, location 0 = value inline, count 1, value)
    return (1, 1, 0, 3, GT_MODEL_TYPE, 0, 1, model, GT_RASTER_TYPE, 0, 1, RASTER_PIXEL_IS_AREA, key, 0, 1, int(epsg))


def gdal_metadata(band_names: list[str], tags: dict | None, band_tags: list[dict] | None = None) -> str:
    """GDAL's metadata XML: dataset tags, each band's metadata items (statistics) and description,
    in GDAL's order (pure)."""
    items = [f"  <Item name={quoteattr(str(k))}>{escape(str(v))}</Item>" for k, v in (tags or {}).items()]
    for i, name in enumerate(band_names):
        items += [f"  <Item name={quoteattr(str(k))} sample=\"{i}\">{escape(str(v))}</Item>"
                  for k, v in ((band_tags[i] if band_tags and i < len(band_tags) else None) or {}).items()]
        items.append(f'  <Item name="DESCRIPTION" sample="{i}" role="description">{escape(str(name))}</Item>')
    return "<GDALMetadata>\n" + "\n".join(items) + "\n</GDALMetadata>"


def nodata_text(nodata: float) -> str:
    """GDAL_NODATA's text of a no-data value (pure)."""
    value = float(nodata)
    if np.isnan(value):
        return "nan"
    return str(int(value)) if value.is_integer() else repr(value)


@functools.lru_cache(maxsize=1)
def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def small_cog(
    data: np.ndarray,
    *,
    transform,
    epsg: int | None,
    band_names: list[str],
    compression: str = "deflate",
    nodata: float | None = None,
    tags: dict | None = None,
    band_tags: list[dict] | None = None,
) -> bytes | None:
    """The COG of `data` (bands, rows, cols), or None when it is not one this covers.
    `nodata` is written as given (the caller has already put it in place of NaN); `band_tags` are
    each band's metadata items (the statistics)."""
    bands, height, width = data.shape
    keys = geo_keys(epsg)
    codec = COMPRESSIONS.get(str(compression).lower())
    if (keys is None or codec is None or max(height, width) > MAX_SIDE or data.nbytes > MAX_BYTES
            or bands != len(band_names) or data.dtype not in DTYPES
            or transform.b or transform.d or transform.a <= 0 or transform.e >= 0):
        return None
    method, arguments = codec
    extratags = [
        (MODEL_PIXEL_SCALE, "d", 3, (float(transform.a), float(-transform.e), 0.0), True),
        (MODEL_TIEPOINT, "d", 6, (0.0, 0.0, 0.0, float(transform.c), float(transform.f), 0.0), True),
    ]
    if keys:
        extratags.append((GEO_KEY_DIRECTORY, "H", len(keys), keys, True))
    extratags.append((GDAL_METADATA, "s", 0, gdal_metadata(band_names, tags, band_tags), True))
    if nodata is not None:
        extratags.append((GDAL_NODATA, "s", 0, nodata_text(nodata), True))
    integer = not np.issubdtype(data.dtype, np.floating)
    # pixel interleaving, as GDAL's COG driver writes several bands
    pixels = data[0] if bands == 1 else np.moveaxis(data, 0, -1)
    out = io.BytesIO()
    tifffile.imwrite(
        out, np.ascontiguousarray(pixels), tile=(TILE, TILE), compression=method, compressionargs=arguments,
        predictor="horizontal" if integer and method else None, photometric="minisblack",
        planarconfig="contig" if bands > 1 else None, extrasamples=("unspecified",) * (bands - 1) or None,
        extratags=extratags, metadata=None, software=False, resolution=None, maxworkers=_workers(),
    )
    return out.getvalue()
