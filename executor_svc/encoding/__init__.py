"""Encoding results: cube / vector cube / plain values → GTiff (COG), netCDF, PNG, JPEG, JSON,
GeoJSON, CSV files, in the format the plan's `OutputFormat` names."""

from .encode import EncodedFile, bundle, encode_result

__all__ = ["EncodedFile", "bundle", "encode_result"]
