"""`save_result`'s `datatype` option: the sample type of a raster file, and its no-data value (pure).

Cubes hold floats with NaN as no-data. Written as an integer type, values are rounded to the
nearest integer and clipped to the type's range; NaN becomes the no-data value: the `nodata`
option when given, else the type's largest value for unsigned types (255, 65535, 4294967295) and
its smallest for signed ones (-32768, -2147483648), and valid values are clipped so that they
never equal that default. Float types keep NaN unless `nodata` is given. The compiler's format
table (compiler_svc/output_formats.py) describes the same rules to users.
"""

from __future__ import annotations

import numpy as np

#: save_result `datatype` values → numpy types ("byte" is GDAL's name of uint8)
DATATYPES = {
    "byte": np.uint8, "uint8": np.uint8, "int16": np.int16, "uint16": np.uint16, "int32": np.int32,
    "uint32": np.uint32, "float32": np.float32, "float64": np.float64,
}


def numpy_type(datatype: str | None) -> np.dtype:
    """The numpy type of a `datatype` option (float32 when not set)."""
    return np.dtype(DATATYPES[datatype.lower()] if datatype else np.float32)


def default_nodata(dtype: np.dtype) -> float | int:
    """No-data value of a type when the user declared none: NaN for floats, the largest value of an
    unsigned type, the smallest of a signed one."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.floating):
        return float("nan")
    info = np.iinfo(dtype)
    return int(info.max) if info.min == 0 else int(info.min)


def cast_for_file(values: np.ndarray, datatype: str | None, nodata: float | None = None
                  ) -> tuple[np.ndarray, float | int]:
    """(values in the file's type, its no-data value): see the module's rules. A dask array stays
    lazy (numpy's functions dispatch to dask), so a chunked cube is cast chunk by chunk."""
    dtype = numpy_type(datatype)
    if not hasattr(values, "dask"):
        values = np.asarray(values)
    if np.issubdtype(dtype, np.floating):
        fill = float("nan") if nodata is None else float(nodata)
        out = values.astype(dtype, copy=False)
        if nodata is not None:
            out = np.where(np.isnan(out), dtype.type(nodata), out)
        return out, dtype.type(fill)
    info = np.iinfo(dtype)
    fill = default_nodata(dtype) if nodata is None else int(nodata)
    lo, hi = float(info.min), float(info.max)
    if nodata is None:  # the default no-data value is at one end of the range: keep values off it
        lo, hi = (lo + 1, hi) if fill == info.min else (lo, hi - 1)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(values) if np.issubdtype(values.dtype, np.floating) else np.ones_like(values, dtype=bool)
        # float64 holds every value of the 32-bit integer types exactly (float32 does not)
        rounded = np.clip(np.rint(np.where(valid, values, 0).astype(np.float64)), lo, hi)
    out = np.where(valid, rounded, float(fill)).astype(dtype)
    return out, dtype.type(fill)
