"""Evalscript output value conversion per sampleType (Evalscript V3 §3.6 of the reference)."""
from __future__ import annotations

import numpy as np

SAMPLE_TYPES = {
    "AUTO": (np.uint8, 0, 255),
    "UINT8": (np.uint8, 0, 255),
    "UINT16": (np.uint16, 0, 65535),
    "INT8": (np.int8, -128, 127),
    "INT16": (np.int16, -32768, 32767),
    "FLOAT32": (np.float32, None, None),
}


def convert(values: np.ndarray, sample_type: str) -> np.ndarray:
    """AUTO: ×255; integer types: round half up, clamp to range, NaN → 0; FLOAT32: as is."""
    dtype, lo, hi = SAMPLE_TYPES[sample_type]
    if sample_type == "FLOAT32":
        return values.astype(np.float32)
    v = values * 255.0 if sample_type == "AUTO" else values
    with np.errstate(invalid="ignore"):
        v = np.floor(v + 0.5)
        v = np.clip(v, lo, hi)
    v = np.where(np.isnan(v), 0, v)
    return v.astype(dtype)
