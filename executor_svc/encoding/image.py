"""8-bit PNG / JPEG writers (CPU work: run in an executor)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from backend_common.errors import OpenEOError


def to_uint8(data: np.ndarray, scale_min: float | None, scale_max: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(bands, rows, cols) floats → (uint8 values, valid mask (rows, cols)).

    With scale_min/scale_max the range maps linearly onto 0..255; otherwise values are taken as
    they are (linear_scale_range to 0..255 already applied), rounded and clipped."""
    valid = np.all(np.isfinite(data), axis=0)
    values = np.where(np.isfinite(data), data, 0).astype(np.float64)
    if scale_min is not None and scale_max is not None:
        if scale_max == scale_min:
            raise OpenEOError("ProcessParameterInvalid", "scale_min and scale_max must differ.", 400)
        values = (values - scale_min) / (scale_max - scale_min) * 255.0
    return np.clip(np.rint(values), 0, 255).astype(np.uint8), valid


def encode_image(data: np.ndarray, fmt: str, *, scale_min=None, scale_max=None, quality: int = 90) -> bytes:
    bands = data.shape[0]
    if bands not in (1, 3):
        raise OpenEOError(
            "FormatUnsuitable",
            f"{fmt} needs 1 (grey) or 3 (RGB) bands, the result has {bands}; use filter_bands first.",
            400,
        )
    values, valid = to_uint8(data, scale_min, scale_max)
    out = io.BytesIO()
    if fmt == "PNG":
        alpha = np.where(valid, 255, 0).astype(np.uint8)
        if bands == 1:
            image = Image.fromarray(np.stack([values[0], alpha], axis=-1))
        else:
            image = Image.fromarray(np.dstack([values[0], values[1], values[2], alpha]))
        # zlib level 1: about 3x faster than the default level 6 for ~40 % larger files (measured on
        # 256 px tiles: 3 ms / 24 KB against 10 ms / 17 KB); tiles are latency-bound.
        image.save(out, format="PNG", optimize=False, compress_level=1)
    else:
        values = np.where(valid, values, 0).astype(np.uint8)
        if bands == 1:
            image = Image.fromarray(values[0])
        else:
            image = Image.fromarray(np.dstack([values[0], values[1], values[2]]))
        image.save(out, format="JPEG", quality=int(quality))
    return out.getvalue()
