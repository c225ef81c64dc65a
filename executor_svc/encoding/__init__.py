"""Encoding results: cube / vector cube / plain values → GTiff (COG), netCDF, PNG, JPEG, JSON,
GeoJSON, CSV files; and the `/file_formats` document."""

from .encode import EncodedFile, bundle, encode_result
from .formats import MEDIA_TYPES, file_formats, normalize_format

__all__ = ["MEDIA_TYPES", "EncodedFile", "bundle", "encode_result", "file_formats", "normalize_format"]
