"""Empty tiles for areas outside a service's extent or zoom range."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image


@lru_cache(maxsize=8)
def empty_tile(size: int, fmt: str) -> bytes:
    """A fully transparent PNG (or a black JPEG, which has no transparency)."""
    buffer = io.BytesIO()
    if fmt == "png":
        Image.new("RGBA", (size, size), (0, 0, 0, 0)).save(buffer, format="PNG", optimize=True)
    else:
        Image.new("RGB", (size, size), (0, 0, 0)).save(buffer, format="JPEG")
    return buffer.getvalue()
