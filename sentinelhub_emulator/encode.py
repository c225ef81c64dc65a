"""Encoding rasters to GeoTIFF/PNG/JPEG (rasterio) and bundling responses as tar."""
from __future__ import annotations

import io
import json
import tarfile
import warnings

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from affine import Affine

DRIVERS = {"image/tiff": "GTiff", "image/png": "PNG", "image/jpeg": "JPEG"}
EXTENSIONS = {"image/tiff": "tif", "image/png": "png", "image/jpeg": "jpg", "application/json": "json",
              "application/octet-stream": "bin"}


def geotransform(bbox, width: int, height: int) -> Affine:
    """North-up: origin (minX, maxY), pixel size (dx, -dy)."""
    minx, miny, maxx, maxy = bbox
    return Affine((maxx - minx) / width, 0.0, minx, 0.0, -(maxy - miny) / height, maxy)


def encode_raster(data: np.ndarray, fmt: str, bbox, epsg: int, nodata=None, quality: int = 90) -> bytes:
    """``data`` has shape (bands, height, width) and the final dtype."""
    bands, height, width = data.shape
    if fmt == "application/octet-stream":
        return np.ascontiguousarray(data.transpose(1, 2, 0)).tobytes()
    driver = DRIVERS[fmt]
    profile = {"driver": driver, "width": width, "height": height, "count": bands, "dtype": data.dtype.name,
               "crs": f"EPSG:{epsg}", "transform": geotransform(bbox, width, height)}
    if driver == "GTiff":
        profile.update(interleave="pixel" if bands > 1 else "band")
        if nodata is not None:
            profile["nodata"] = nodata
    elif driver == "JPEG":
        profile["quality"] = quality
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.MemoryFile() as mem:
            with mem.open(**profile) as dst:
                dst.write(data)
            return mem.read()


def tar_bundle(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, payload in members:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


CONTENT_TYPES = {"tif": "image/tiff", "png": "image/png", "jpg": "image/jpeg", "json": "application/json",
                 "bin": "application/octet-stream"}


def multipart_bundle(members: list[tuple[str, bytes]], boundary: str) -> bytes:
    """A ``multipart/mixed`` body, one part per output named like the tar members."""
    out = bytearray()
    for name, payload in members:
        ctype = CONTENT_TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream")
        out += (f"--{boundary}\r\nContent-Type: {ctype}\r\n"
                f"Content-Disposition: form-data; name=\"{name.rsplit('.', 1)[0]}\"; filename=\"{name}\"\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        out += payload + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def userdata_bytes(value) -> bytes:
    return json.dumps(value).encode()
