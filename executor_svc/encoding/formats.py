"""The output formats the executor writes and the openEO `/file_formats` document (pure)."""

from __future__ import annotations

from backend_common.errors import OpenEOError

CANONICAL = {
    "gtiff": "GTiff",
    "geotiff": "GTiff",
    "tif": "GTiff",
    "tiff": "GTiff",
    "cog": "GTiff",
    "netcdf": "netCDF",
    "nc": "netCDF",
    "png": "PNG",
    "jpeg": "JPEG",
    "jpg": "JPEG",
    "json": "JSON",
    "geojson": "GeoJSON",
    "csv": "CSV",
}

MEDIA_TYPES = {
    "GTiff": "image/tiff; application=geotiff; profile=cloud-optimized",
    "netCDF": "application/x-netcdf",
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "JSON": "application/json",
    "GeoJSON": "application/geo+json",
    "CSV": "text/csv",
}

EXTENSIONS = {"GTiff": "tif", "netCDF": "nc", "PNG": "png", "JPEG": "jpg", "JSON": "json", "GeoJSON": "geojson", "CSV": "csv"}

RASTER_FORMATS = ("GTiff", "netCDF", "PNG", "JPEG")


def normalize_format(name: str) -> str:
    """Canonical format name, case-insensitive; FormatUnsupported otherwise."""
    canonical = CANONICAL.get((name or "").strip().lower())
    if canonical is None:
        raise OpenEOError(
            "FormatUnsupported",
            f"The output format {name!r} is not supported; use one of {', '.join(EXTENSIONS)}.",
            400,
        )
    return canonical


def _p(type_: str, description: str, default=None, enum=None, minimum=None, maximum=None) -> dict:
    schema: dict = {"type": type_ if default is not None else [type_, "null"]}
    if enum is not None:
        schema["enum"] = enum
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    if default is not None:
        schema["default"] = default
    return {"description": description, "schema": schema}


_SCALE = {
    "scale_min": _p("number", "Value mapped to 0. Default: values are used as they are (apply linear_scale_range first)."),
    "scale_max": _p("number", "Value mapped to 255 (with scale_min)."),
}

OUTPUT_FORMATS: dict[str, dict] = {
    "GTiff": {
        "title": "GeoTIFF (Cloud Optimized)",
        "description": "Tiled, deflate-compressed Cloud Optimized GeoTIFF with overviews; one band per band label "
        "(with band descriptions). Several dates are written as one file per date unless time_as_bands is set.",
        "gis_data_types": ["raster"],
        "parameters": {
            "compression": _p("string", "Compression.", "deflate", ["deflate", "lzw", "zstd", "none"]),
            "time_as_bands": _p("boolean", "Write all dates into one file as bands (named <date>_<band>).", False),
            "overviews": _p("boolean", "Write internal overviews.", True),
            "nodata": _p("number", "Value written for no-data pixels (default NaN)."),
            "filename_prefix": _p("string", "Prefix of the file names.", "openEO"),
        },
        "links": [{"href": "https://www.cogeo.org/", "rel": "about", "title": "Cloud Optimized GeoTIFF"}],
    },
    "netCDF": {
        "title": "Network Common Data Form (CF conventions)",
        "description": "netCDF-4 (HDF5) with one variable per band, a CF time coordinate and the CRS in spatial_ref.",
        "gis_data_types": ["raster"],
        "parameters": {
            "filename_prefix": _p("string", "Prefix of the file name.", "openEO"),
        },
    },
    "PNG": {
        "title": "Portable Network Graphics",
        "description": "8-bit, 1 (grey) or 3 (RGB) bands, alpha channel marking no-data.",
        "gis_data_types": ["raster"],
        "parameters": {**_SCALE, "filename_prefix": _p("string", "Prefix of the file name.", "openEO")},
    },
    "JPEG": {
        "title": "JPEG",
        "description": "8-bit, 1 (grey) or 3 (RGB) bands; no-data becomes 0.",
        "gis_data_types": ["raster"],
        "parameters": {
            **_SCALE,
            "quality": _p("integer", "JPEG quality.", 90, minimum=1, maximum=100),
            "filename_prefix": _p("string", "Prefix of the file name.", "openEO"),
        },
    },
    "JSON": {
        "title": "JSON",
        "description": "Non-raster results (numbers, strings, arrays, objects) and small cubes as "
        "{dims, coords, data}.",
        "gis_data_types": ["other", "vector"],
        "parameters": {},
    },
    "GeoJSON": {
        "title": "GeoJSON",
        "description": "Vector cubes (aggregate_spatial results): one Feature per geometry with the values as properties.",
        "gis_data_types": ["vector"],
        "parameters": {},
    },
    "CSV": {
        "title": "Comma-separated values",
        "description": "Vector cubes (aggregate_spatial results): one row per geometry (and date), one column per band.",
        "gis_data_types": ["vector", "table"],
        "parameters": {},
    },
}


def file_formats() -> dict:
    """GET /file_formats body."""
    return {"input": {}, "output": OUTPUT_FORMATS}


def check_options(fmt: str, options: dict | None) -> dict:
    """Known options with their types checked; unknown options are refused."""
    options = dict(options or {})
    params = OUTPUT_FORMATS[fmt]["parameters"]
    for name, value in options.items():
        if name not in params:
            raise OpenEOError(
                "ProcessParameterInvalid",
                f"The format option {name!r} is not supported for {fmt}; supported: {', '.join(params) or 'none'}.",
                400,
            )
        schema = params[name]["schema"]
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if value is None and "null" in types:
            continue
        ok = (
            ("boolean" in types and isinstance(value, bool))
            or ("string" in types and isinstance(value, str))
            or ("integer" in types and isinstance(value, int) and not isinstance(value, bool))
            or ("number" in types and isinstance(value, (int, float)) and not isinstance(value, bool))
        )
        if not ok or ("enum" in schema and value not in schema["enum"]):
            raise OpenEOError(
                "ProcessParameterInvalid", f"The format option {name!r} has an invalid value {value!r} for {fmt}.", 400
            )
    return options
