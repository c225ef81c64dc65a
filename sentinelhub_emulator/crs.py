"""Parsing of Sentinel Hub CRS identifiers (OGC URLs) into pyproj CRS objects."""
from __future__ import annotations

import re
from functools import lru_cache

from pyproj import CRS, Transformer

# Explicitly listed by the Sentinel Hub docs (besides CRS84, 4326, 3857 and UTM 326xx/327xx).
_EXTRA_EPSG = {
    2154, 2180, 2193, 3003, 3004, 3005, 3006, 3031, 3035, 3161, 3346, 3413, 3416, 3578, 3580,
    3765, 3794, 3844, 3912, 3995, 4026, 5514, 28992, 32184,
}

_EPSG_URL = re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$")
_OGC_URL = re.compile(r"^https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84$")


class UnsupportedCRS(ValueError):
    pass


def epsg_supported(code: int) -> bool:
    return (
        code in (4326, 3857)
        or 32601 <= code <= 32660
        or 32701 <= code <= 32760
        or code in _EXTRA_EPSG
    )


def parse_crs(value: str | int | None) -> int:
    """Return the EPSG code for a Sentinel Hub CRS identifier (CRS84 -> 4326).

    Accepts OGC CRS URLs, ``EPSG:<code>`` strings and integers.
    """
    if value is None:
        return 4326
    if isinstance(value, int):
        code = value
    else:
        text = str(value).strip()
        if _OGC_URL.match(text):
            return 4326
        m = _EPSG_URL.match(text)
        if m:
            code = int(m.group(1))
        elif text.upper().startswith("EPSG:") and text[5:].isdigit():
            code = int(text[5:])
        else:
            raise UnsupportedCRS(f"Unsupported CRS: {value}")
    if not epsg_supported(code):
        raise UnsupportedCRS(f"Unsupported CRS: {value}")
    return code


@lru_cache(maxsize=64)
def crs_from_epsg(code: int) -> CRS:
    return CRS.from_epsg(code)


@lru_cache(maxsize=64)
def to_lonlat_transformer(code: int) -> Transformer:
    return Transformer.from_crs(crs_from_epsg(code), crs_from_epsg(4326), always_xy=True)
