"""Decoding Process API responses (single image or multi-response tar) into numpy arrays.

Everything here is CPU work: call it through `loop.run_in_executor`, never on the event loop.
"""

from __future__ import annotations

import io
import json
import tarfile
import warnings
from dataclasses import dataclass

import numpy as np
import rasterio
import tifffile
from rasterio.errors import NotGeoreferencedWarning

from backend_common.errors import OpenEOError

_IMAGE_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg")


@dataclass
class DecodedImage:
    data: np.ndarray  # (bands, rows, cols)
    nodata: float | None
    userdata: object | None


def is_tar(content: bytes, content_type: str) -> bool:
    return "tar" in content_type or content[257:262] == b"ustar"


def split_tar(content: bytes) -> dict[str, bytes]:
    """Members of an (uncompressed) tar archive, by file name."""
    members: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:*") as archive:
        for member in archive.getmembers():
            if member.isfile():
                handle = archive.extractfile(member)
                if handle is not None:
                    members[member.name.rsplit("/", 1)[-1]] = handle.read()
    return members


def _is_tiff(content: bytes) -> bool:
    return content[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _tiff_array(content: bytes) -> tuple[np.ndarray, float | None] | None:
    """(bands, rows, cols) and GDAL no-data of a single-image TIFF, read with tifffile (several
    times faster than a GDAL dataset for Sentinel Hub's plain TIFFs); None when the file has a
    layout this does not cover (the caller then uses rasterio)."""
    try:
        with tifffile.TiffFile(io.BytesIO(content)) as tif:
            if len(tif.series) != 1 or len(tif.pages) != 1:
                return None
            series = tif.series[0]
            axes = series.axes
            data = series.asarray()
            page = tif.pages[0]
            nodata = page.nodata if 42113 in page.tags else None  # GDAL_NODATA (tifffile says 0 when absent)
    except Exception:  # noqa: BLE001 - anything unusual: rasterio decides
        return None
    if axes == "YX":
        data = data[np.newaxis]
    elif axes == "YXS":
        data = np.moveaxis(data, -1, 0)
    elif axes not in ("SYX", "CYX", "QYX", "IYX"):
        return None
    return np.ascontiguousarray(data), (float(nodata) if nodata is not None else None)


def decode_image(content: bytes) -> tuple[np.ndarray, float | None]:
    if _is_tiff(content):
        decoded = _tiff_array(content)
        if decoded is not None:
            return decoded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.MemoryFile(content) as memfile, memfile.open() as dataset:
            return dataset.read(), dataset.nodata


def decode_response(content: bytes, content_type: str, output_id: str = "default") -> DecodedImage:
    """The `output_id` image (and `userdata.json` when present) of a Process API response."""
    try:
        if not is_tar(content, content_type):
            data, nodata = decode_image(content)
            return DecodedImage(data, nodata, None)
        members = split_tar(content)
        userdata = None
        if "userdata.json" in members:
            userdata = json.loads(members["userdata.json"] or b"null")
        image = next((members[output_id + ext] for ext in _IMAGE_EXTENSIONS if output_id + ext in members), None)
        if image is None:
            raise OpenEOError(
                "SentinelHubError",
                f"Sentinel Hub's response has no {output_id!r} image (got: {', '.join(sorted(members)) or 'nothing'}).",
                502,
            )
        data, nodata = decode_image(image)
        return DecodedImage(data, nodata, userdata)
    except OpenEOError:
        raise
    except (tarfile.TarError, rasterio.errors.RasterioError, ValueError) as exc:
        raise OpenEOError(
            "SentinelHubError", f"Sentinel Hub's response could not be decoded ({type(exc).__name__}).", 502
        ) from exc
