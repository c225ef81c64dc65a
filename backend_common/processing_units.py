"""Sentinel Hub's processing-unit formula for one Process API request (reference §2.6), shared by
the compiler's rough plan estimate and the executor's exact one (pure)."""

from __future__ import annotations

MIN_PU = 0.005
MIN_AREA_FACTOR = 0.01
FLOAT32_TIFF = 2.0
OCTET_STREAM = 1.4
OTHER_FORMAT = 1.0


def input_band_count(bands: list[str]) -> int:
    """Bands an evalscript reads; `dataMask` counts only when it is the only band."""
    real = [b for b in bands if b != "dataMask"]
    return len(real) if real else max(1, len(bands))


def request_pu(width: int, height: int, n_input_bands: int, *, format_factor: float = FLOAT32_TIFF,
               samples: int = 1, fusion: int = 1, s1_factor: float = 1.0) -> float:
    """PU of one request: max(0.005, f_area · f_bands · f_format · f_samples · f_fusion · f_S1)."""
    f_area = max(MIN_AREA_FACTOR, width * height / (512 * 512))
    return max(MIN_PU, f_area * (n_input_bands / 3) * format_factor * max(1, samples) * max(1, fusion) * s1_factor)
