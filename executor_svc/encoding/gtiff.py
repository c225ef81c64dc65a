"""Cloud Optimized GeoTIFF writer (CPU work: run in an executor).

Every GeoTIFF written here describes itself: band descriptions (the band labels) and each band's
statistics as GDAL's metadata items (`STATISTICS_MINIMUM`/`MAXIMUM`/`MEAN`/`STDDEV`/`VALID_PERCENT`,
ignoring NaN and no-data; `raster.gdal_statistics`), which viewers (QGIS, the openEO Web Editor,
GDAL) use to stretch the image; a band without valid pixels has none."""

from __future__ import annotations

import io
import os
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import rasterio
import rasterio.errors
import rasterio.shutil
import tifffile
from rasterio.crs import CRS
from rasterio.io import MemoryFile

from ..sentinelhub.decode import decode_image
from .raster import StatisticsAccumulator, gdal_statistics
from .small_cog import MAX_SIDE, small_cog
from .staged import write_staged_copy

COMPRESSION = {"deflate": "DEFLATE", "lzw": "LZW", "zstd": "ZSTD", "none": "NONE"}

#: Rasters up to this size (both sides) need no overviews (GDAL's COG rule: overviews until the
#: smallest level fits one 512 px block); they get 256 px blocks so that their (at least four)
#: blocks are compressed in parallel.
SMALL_RASTER = 512


#: Rasters up to this many bytes are encoded in memory (GDAL /vsimem/) and written in one go.
IN_MEMORY_LIMIT = 64 * 1024 * 1024


def cog_layout(width: int, height: int, overviews: bool) -> tuple[int, str]:
    """(block size, GDAL OVERVIEWS option) for a raster of this size (pure)."""
    if max(width, height) <= SMALL_RASTER:
        return 256, "NONE"
    return 512, "AUTO" if overviews else "NONE"


def cog_options(width: int, height: int, dtype, *, compression: str = "deflate", overviews: bool = True) -> dict:
    """GDAL COG creation options for a raster of this size and type (pure)."""
    blocksize, overview_option = cog_layout(width, height, overviews)
    options = {
        "COMPRESS": COMPRESSION.get(compression, "DEFLATE"),
        "BLOCKSIZE": str(blocksize),
        "OVERVIEWS": overview_option,
        "OVERVIEW_RESAMPLING": "AVERAGE",
        "BIGTIFF": "IF_SAFER",
        "NUM_THREADS": "2",
        # copy the statistics the source carries (ours, see `write_cog`); GDAL computes none
        "STATISTICS": "AUTO",
    }
    if options["COMPRESS"] == "DEFLATE":
        # Level 3 is within a few percent of the default level's size at about 70 % of its time.
        options["LEVEL"] = "3"
    if options["COMPRESS"] != "NONE" and not np.issubdtype(np.dtype(dtype), np.floating):
        # Horizontal differencing helps integer rasters; for float32 reflectances and indices the
        # floating-point predictor made files larger and slower in our measurements.
        options["PREDICTOR"] = "2"
    return options


def write_cog(
    path: str | os.PathLike,
    data: np.ndarray,
    *,
    transform,
    epsg: int | None,
    band_names: list[str],
    compression: str = "deflate",
    overviews: bool = True,
    nodata: float | None = None,
    tags: dict | None = None,
) -> None:
    """`data` is (bands, rows, cols). A small raster is written by `small_cog`; any other is
    staged in an in-memory (GDAL MEM) dataset and COG-copied to `path` (GDAL's COG driver only
    creates by copy)."""
    bands, height, width = data.shape
    dtype = data.dtype if data.dtype in (np.float32, np.float64, np.uint8, np.uint16, np.int16, np.int32, np.uint32) else np.float32
    fill = np.nan if nodata is None else nodata
    if nodata is not None and np.issubdtype(data.dtype, np.floating):
        data = np.where(np.isnan(data), np.asarray(nodata, dtype=data.dtype), data)
    data = data.astype(dtype, copy=False)
    is_float = np.issubdtype(np.dtype(dtype), np.floating)
    band_tags = [gdal_statistics(data[i], nodata) for i in range(bands)]
    small = small_cog(data, transform=transform, epsg=epsg, band_names=band_names, compression=compression,
                      nodata=fill if is_float or nodata is not None else None, tags=tags, band_tags=band_tags)
    if small is not None:
        with open(path, "wb") as handle:
            handle.write(small)
        return
    profile = {
        "driver": "MEM",
        "width": width,
        "height": height,
        "count": bands,
        "dtype": dtype,
        "transform": transform,
        "crs": CRS.from_epsg(epsg) if epsg else None,
        "nodata": fill if is_float or nodata is not None else None,
    }
    options = cog_options(width, height, dtype, compression=compression, overviews=overviews)
    # One GDAL environment for the whole write; our creation options are fixed (and tested), so
    # GDAL need not validate them: for the COG driver that means parsing every tile matrix set
    # and its CRS on each call, a third of a small raster's encoding time.
    with rasterio.Env(GDAL_VALIDATE_CREATION_OPTIONS="NO", QUIET_DELETE_ON_CREATE_COPY="NO"):
        _write_cog(path, data, profile, options, band_names, tags, band_tags)


def write_cog_chunked(
    path: str | os.PathLike,
    data,
    *,
    transform,
    epsg: int | None,
    band_names: list[str],
    compression: str = "deflate",
    overviews: bool = True,
    nodata: float | None = None,
    tags: dict | None = None,
    parallel: int = 2,
) -> StatisticsAccumulator:
    """`write_cog` of a dask array (bands, rows, cols) that never holds it whole: its chunks
    (all bands of one window) are computed `parallel` at a time and written into a tiled GeoTIFF
    on disk beside `path`, their statistics accumulated on the way; GDAL's COG driver then copies
    that file block by block (with overviews) to `path`. Returns the bands' statistics."""
    bands, height, width = data.shape
    dtype = np.dtype(data.dtype)
    is_float = np.issubdtype(dtype, np.floating)
    fill = np.nan if nodata is None else nodata
    if nodata is not None and is_float:
        data = np.where(np.isnan(data), dtype.type(nodata), data)
    stats = StatisticsAccumulator(bands, nodata)

    def planes(block: np.ndarray) -> np.ndarray:
        block = block.astype(dtype, copy=False)
        stats.add(block)
        return block

    def describe(dst) -> None:
        for i, name in enumerate(band_names, start=1):
            dst.set_band_description(i, name)
            if stats.gdal(i - 1):
                dst.update_tags(i, **stats.gdal(i - 1))
        if tags:
            dst.update_tags(**{k: str(v) for k, v in tags.items()})

    profile = {"count": bands, "dtype": dtype, "transform": transform, "crs": CRS.from_epsg(epsg) if epsg else None,
               "nodata": fill if is_float or nodata is not None else None}
    write_staged_copy(path, data, profile=profile, planes=planes, driver="COG", finish=describe, parallel=parallel,
                      options=cog_options(width, height, dtype, compression=compression, overviews=overviews))
    return stats


def _write_cog(path, data: np.ndarray, profile: dict, options: dict, band_names: list[str], tags: dict | None,
               band_tags: list[dict]) -> None:
    # rasterio needs a name for a MEM dataset; it is not a file.
    with rasterio.open("staging", "w", **profile) as staging:
        _fill(staging, data, band_names, tags, band_tags)
        if data.nbytes > IN_MEMORY_LIMIT:
            rasterio.shutil.copy(staging, os.fspath(path), driver="COG", **options)
            return
        # GDAL's many small writes and seeks go to memory; the file gets one write
        with MemoryFile() as encoded:
            rasterio.shutil.copy(staging, encoded.name, driver="COG", **options)
            content = encoded.read()
    with open(path, "wb") as handle:
        handle.write(content)


def _fill(dst, data: np.ndarray, band_names: list[str], tags: dict | None, band_tags: list[dict]) -> None:
    dst.write(data)
    for i, name in enumerate(band_names, start=1):
        dst.set_band_description(i, name)
        if band_tags[i - 1]:
            dst.update_tags(i, **band_tags[i - 1])
    if tags:
        dst.update_tags(**{k: str(v) for k, v in tags.items()})


def passthrough_vrt(source: str, *, width: int, height: int, transform, epsg: int | None, band_names: list[str],
                    tags: dict | None, band_tags: list[dict] | None = None) -> str:
    """A VRT over the `source` raster that gives it our metadata: CRS and transform of the plan's
    grid, band descriptions, band statistics, NaN no-data and tags (pure). Formatted directly (every value escaped):
    building it with ElementTree cost more than GDAL's parsing of it."""
    lines = [f'<VRTDataset rasterXSize="{int(width)}" rasterYSize="{int(height)}">']
    if epsg:
        lines.append(f'  <SRS dataAxisToSRSAxisMapping="1,2">EPSG:{int(epsg)}</SRS>')
    gdal_order = (transform.c, transform.a, transform.b, transform.f, transform.d, transform.e)
    lines.append(f"  <GeoTransform>{', '.join(repr(float(v)) for v in gdal_order)}</GeoTransform>")
    if tags:
        lines.append("  <Metadata>")
        lines.extend(f"    <MDI key={quoteattr(str(key))}>{escape(str(value))}</MDI>" for key, value in tags.items())
        lines.append("  </Metadata>")
    window = f'xOff="0" yOff="0" xSize="{int(width)}" ySize="{int(height)}"'
    for index, name in enumerate(band_names, start=1):
        lines += [
            f'  <VRTRasterBand dataType="Float32" band="{index}">',
            f"    <Description>{escape(str(name))}</Description>",
        ]
        statistics = (band_tags[index - 1] if band_tags and index <= len(band_tags) else None) or {}
        if statistics:
            lines.append("    <Metadata>")
            lines.extend(f"      <MDI key={quoteattr(str(key))}>{escape(str(value))}</MDI>"
                         for key, value in statistics.items())
            lines.append("    </Metadata>")
        lines += [
            "    <NoDataValue>nan</NoDataValue>",
            "    <SimpleSource>",
            f'      <SourceFilename relativeToVRT="0">{escape(source)}</SourceFilename>',
            f"      <SourceBand>{index}</SourceBand>",
            f"      <SrcRect {window}/>",
            f"      <DstRect {window}/>",
            "    </SimpleSource>",
            "  </VRTRasterBand>",
        ]
    lines.append("</VRTDataset>")
    return "\n".join(lines)


def tiff_layout(tiff: bytes) -> tuple[int, int, int, str, float | None] | None:
    """(width, height, bands, numpy dtype, GDAL no-data) of a single-image TIFF, read from its
    header alone with tifffile (opening it with rasterio would also parse its CRS); None for
    anything else (pure)."""
    try:
        with tifffile.TiffFile(io.BytesIO(tiff)) as tif:
            if len(tif.pages) != 1:
                return None
            page = tif.pages[0]
            if page.photometric == tifffile.PHOTOMETRIC.PALETTE:
                return None
            bands = page.samplesperpixel
            nodata = page.nodata if 42113 in page.tags else None
            return page.imagewidth, page.imagelength, bands, str(page.dtype), nodata
    except Exception:  # noqa: BLE001 - not a TIFF tifffile reads: the caller's normal path decides
        return None


def cog_from_tiff(tiff: bytes, *, transform, epsg: int | None, band_names: list[str], tags: dict | None = None,
                  size: tuple[int, int] | None = None) -> bytes | None:
    """The COG `write_cog` would make of this single-image FLOAT32 TIFF's pixels: by `small_cog`
    for a small raster, else by GDAL straight from the TIFF (no decoding into numpy, no staging
    copy). None when the TIFF is not
    one this covers: not a TIFF, another sample type, a no-data value other than NaN, a band count
    other than `band_names` or a (width, height) other than `size` (the caller then takes the
    normal path). CPU work: run in an executor."""
    layout = tiff_layout(tiff)
    if layout is None:
        return None
    width, height, bands, dtype, nodata = layout
    if (bands != len(band_names) or dtype != "float32" or (nodata is not None and not np.isnan(nodata))
            or (size is not None and (width, height) != tuple(size))):
        return None
    # the statistics `write_cog` stores, of the same float32 pixels
    pixels, _ = decode_image(tiff)
    band_tags = [gdal_statistics(pixels[i]) for i in range(bands)]
    if max(width, height) <= MAX_SIDE:
        made = small_cog(pixels, transform=transform, epsg=epsg, band_names=band_names, nodata=np.nan, tags=tags,
                         band_tags=band_tags)
        if made is not None:
            return made
    del pixels
    with rasterio.Env(GDAL_VALIDATE_CREATION_OPTIONS="NO", QUIET_DELETE_ON_CREATE_COPY="NO"), MemoryFile(tiff) as source:
        vrt = passthrough_vrt(source.name, width=width, height=height, transform=transform, epsg=epsg,
                              band_names=band_names, tags=tags, band_tags=band_tags)
        options = cog_options(width, height, np.float32)
        try:
            staged = rasterio.open(vrt)
        except rasterio.errors.RasterioError:
            return None
        with staged, MemoryFile() as encoded:
            rasterio.shutil.copy(staged, encoded.name, driver="COG", **options)
            return encoded.read()
