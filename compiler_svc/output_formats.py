"""The one table of output formats: save_result's names and aliases, each format's media type,
file extension and options, the openEO `/file_formats` document, and the plan's `OutputFormat`
made from them (pure). The executor writes what the plan's `OutputFormat` says."""

from __future__ import annotations

import json

from backend_proto.v1 import compiler_pb2
from compiler_svc.problems import Problem, ProblemError

CANONICAL = {
    "gtiff": "GTiff",
    "geotiff": "GTiff",
    "tif": "GTiff",
    "tiff": "GTiff",
    "cog": "GTiff",
    "netcdf": "netCDF",
    "nc": "netCDF",
    "zarr": "ZARR",
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
    # a zipped Zarr store (executor_svc/encoding/zarr_store.py): a zip, whose content the profile names
    "ZARR": "application/zip; profile=zarr",
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "JSON": "application/json",
    "GeoJSON": "application/geo+json",
    "CSV": "text/csv",
}

EXTENSIONS = {"GTiff": "tif", "netCDF": "nc", "ZARR": "zarr.zip", "PNG": "png", "JPEG": "jpg", "JSON": "json", "GeoJSON": "geojson", "CSV": "csv"}

RASTER_FORMATS = ("GTiff", "netCDF", "ZARR", "PNG", "JPEG")


def canonical_format(name) -> str | None:
    """The canonical name of a format name (case-insensitive), None when unknown."""
    if not isinstance(name, str):
        return None
    return CANONICAL.get(name.strip().lower())


def _p(type_: str, description: str, default=None, enum=None, minimum=None, maximum=None) -> dict:
    """A format parameter as the API defines it (`resource_parameter`): a JSON Schema with its
    description, flat (not wrapped in `schema`)."""
    schema: dict = {"description": description, "type": type_ if default is not None else [type_, "null"]}
    if enum is not None:
        schema["enum"] = enum
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    if default is not None:
        schema["default"] = default
    return schema


#: save_result's `datatype` values per format (executor_svc/encoding/datatypes.py writes them)
RASTER_DATATYPES = ["byte", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64"]
INTEGER_RANGES = {"byte": (0, 255), "uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535),
                  "int32": (-2147483648, 2147483647), "uint32": (0, 4294967295)}
_DATATYPE_RULES = (
    "Sample type of the file (default float32). Integer types: values are rounded to the nearest integer "
    "and clipped to the type's range; no-data (NaN) is written as the `nodata` value when given, else as "
    "the type's largest value for unsigned types (byte/uint8 255, uint16 65535, uint32 4294967295) and its "
    "smallest for signed ones (int16 -32768, int32 -2147483648), declared as the file's no-data value, and "
    "valid values are clipped so that they never equal it. float32/float64 keep NaN as no-data unless "
    "`nodata` is given."
)
# netCDF and ZARR: the same CF layout, the same options
_CF_PARAMETERS = {
    "datatype": _p("string", _DATATYPE_RULES + " The no-data value is the variable's _FillValue.",
                   "float32", RASTER_DATATYPES),
    "nodata": _p("number", "Value written for no-data pixels (default NaN; for integer datatypes see "
                 "datatype). Must fit the datatype."),
    "filename_prefix": _p("string", "Prefix of the file name.", "openEO"),
}


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
            "nodata": _p("number", "Value written for no-data pixels (default NaN; for integer datatypes see "
                         "datatype). Must fit the datatype."),
            "datatype": _p("string", _DATATYPE_RULES, "float32", RASTER_DATATYPES),
            "filename_prefix": _p("string", "Prefix of the file names.", "openEO"),
        },
        "links": [{"href": "https://www.cogeo.org/", "rel": "about", "title": "Cloud Optimized GeoTIFF"}],
    },
    "netCDF": {
        "title": "Network Common Data Form (CF conventions)",
        "description": "netCDF-4 (HDF5), CF-1.9: one variable per band named by its band label, over the "
        "dimensions (t, y, x) ((y, x) without time); a CF time coordinate t (text labels when the labels are "
        "not dates, e.g. aggregate_temporal_period's periods) and the CRS in the grid-mapping variable spatial_ref "
        "(named by every band's grid_mapping attribute).",
        "gis_data_types": ["raster"],
        "parameters": _CF_PARAMETERS,
    },
    "ZARR": {
        "title": "Zarr (zipped store)",
        "description": "A Zarr store (format 2, consolidated metadata) in one zip file, with the netCDF "
        "format's CF layout: one variable per band over (t, y, x), a CF time coordinate and the CRS in "
        "spatial_ref. Chunked one date deep; written chunk by chunk. Open it without unpacking: "
        "xarray.open_zarr(zarr.storage.ZipStore(path, mode='r')) or xarray.open_zarr('zip::' + path).",
        "gis_data_types": ["raster"],
        "parameters": _CF_PARAMETERS,
        "links": [{"href": "https://zarr.dev/", "rel": "about", "title": "Zarr"}],
    },
    "PNG": {
        "title": "Portable Network Graphics",
        "description": "8-bit, 1 (grey) or 3 (RGB) bands, alpha channel marking no-data.",
        "gis_data_types": ["raster"],
        "parameters": {
            **_SCALE,
            "datatype": _p("string", "Sample type: byte (8 bits, values 0..255, scale_min/scale_max map onto "
                           "0..255) or uint16 (16 bits, 0..65535, scale_min/scale_max map onto 0..65535). "
                           "No-data is transparent (alpha channel).", "byte", ["byte", "uint16"]),
            "filename_prefix": _p("string", "Prefix of the file name.", "openEO"),
        },
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


def option_problem(fmt: str, options: dict, node_id: str = "") -> Problem | None:
    """The first option of `options` that `fmt` does not know or whose value does not fit."""
    params = OUTPUT_FORMATS[fmt]["parameters"]
    for name, value in options.items():
        if name not in params:
            return Problem("ProcessParameterInvalid", f"The format option {name!r} is not supported for {fmt}; "
                           f"supported: {', '.join(params) or 'none'}.", node_id, "options")
        schema = params[name]
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if value is None and "null" in types:
            continue
        ok = (
            ("boolean" in types and isinstance(value, bool))
            or ("string" in types and isinstance(value, str))
            or ("integer" in types and isinstance(value, int) and not isinstance(value, bool))
            or ("number" in types and isinstance(value, (int, float)) and not isinstance(value, bool))
        )
        out_of_range = ok and not isinstance(value, (bool, str)) and (
            ("minimum" in schema and value < schema["minimum"]) or ("maximum" in schema and value > schema["maximum"]))
        if not ok or out_of_range or ("enum" in schema and value not in schema["enum"]):
            return Problem("ProcessParameterInvalid", f"The format option {name!r} has an invalid value {value!r} "
                           f"for {fmt}.", node_id, "options")
    datatype, nodata = options.get("datatype"), options.get("nodata")
    if datatype in INTEGER_RANGES and nodata is not None:
        lo, hi = INTEGER_RANGES[datatype]
        if not (float(nodata).is_integer() and lo <= nodata <= hi):
            return Problem("ProcessParameterInvalid", f"The format option 'nodata' ({nodata!r}) is not a value of "
                           f"the datatype {datatype!r} ({lo}..{hi}) for {fmt}.", node_id, "options")
    return None


def output_format(name, options: dict | None = None, *, node_id: str = "", defaulted: bool = False
                  ) -> compiler_pb2.OutputFormat:
    """The plan's OutputFormat of a save_result format and options; ProblemError when the format is
    unknown or an option does not fit it."""
    fmt = canonical_format(name)
    if fmt is None:
        raise ProblemError(Problem("FormatUnsupported", f"Output format '{name}' is not supported"
                                   f"{f' (node {node_id!r})' if node_id else ''}; use one of {', '.join(EXTENSIONS)}.",
                                   node_id, "format"))
    options = dict(options or {})
    problem = option_problem(fmt, options, node_id)
    if problem is not None:
        raise ProblemError(problem)
    return compiler_pb2.OutputFormat(format=fmt, options_json=json.dumps(options), defaulted=defaulted,
                                     media_type=MEDIA_TYPES[fmt], extension=EXTENSIONS[fmt])
