"""Processing-unit cost of a Process API request (§2.6 of the reference)."""
from __future__ import annotations

MIN_PU = 0.005


def processing_units(width: int, height: int, n_input_bands: int, float32_tiff: bool, octet_stream: bool = False,
                     n_samples: int = 1, n_collections: int = 1, s1_factor: float = 1.0) -> float:
    f_area = max(0.01, width * height / (512 * 512))
    f_bands = n_input_bands / 3
    f_format = 2.0 if float32_tiff else (1.4 if octet_stream else 1.0)
    f_samples = max(1, n_samples)
    f_fusion = n_collections if n_collections > 1 else 1
    return max(MIN_PU, f_area * f_bands * f_format * f_samples * f_fusion * s1_factor)


def count_input_bands(bands: list[str]) -> int:
    """``dataMask`` is not counted unless it is the only band."""
    real = [b for b in bands if b != "dataMask"]
    return len(real) if real else len(bands)


def s1_factor(processing: dict) -> float:
    f = 1.0
    if processing.get("backCoeff") == "GAMMA0_TERRAIN":
        f *= 2.5
    elif processing.get("orthorectify"):
        f *= 2.0
    speckle = processing.get("speckleFilter") or {}
    if speckle.get("type") not in (None, "NONE"):
        f *= 2.0
    return f
