"""Output formats of save_result: case-insensitive names to the canonical GDAL-style names
(validation rejects unknown formats, planning records the canonical one)."""

from __future__ import annotations

CANONICAL = {
    "gtiff": "GTiff", "geotiff": "GTiff", "tiff": "GTiff", "tif": "GTiff",
    "netcdf": "netCDF", "nc": "netCDF",
    "png": "PNG",
    "jpeg": "JPEG", "jpg": "JPEG",
    "json": "JSON",
    "geojson": "GeoJSON",
    "csv": "CSV",
}


def canonical_format(name: str) -> str | None:
    if not isinstance(name, str):
        return None
    return CANONICAL.get(name.strip().lower())
