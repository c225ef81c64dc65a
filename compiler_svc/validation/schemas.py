"""Checks of literal argument values against openEO parameter schemas (JSON Schema + subtypes)."""

from __future__ import annotations

import functools
import json
import re
from datetime import date, datetime
from typing import Any

import jsonschema

CUBE_KINDS = {"raster-cube", "vector-cube", "datacube"}


def as_list(schema: Any) -> list[dict]:
    if isinstance(schema, list):
        return [s for s in schema if isinstance(s, dict)]
    return [schema] if isinstance(schema, dict) else []


def subtypes(schema: Any) -> set[str]:
    return {s["subtype"] for s in as_list(schema) if "subtype" in s}


def kinds(schema: Any) -> set[str]:
    """What values a schema accepts, coarsely: cube kinds, 'other', or 'any'."""
    result = set()
    for s in as_list(schema):
        sub = s.get("subtype")
        if sub in CUBE_KINDS:
            result.add(sub)
        elif not s.get("type") and "anyOf" not in s and "oneOf" not in s:
            result.add("any")
        else:
            result.add("other")
    return result or {"any"}


def compatible(produced: set[str], accepted: set[str]) -> bool:
    if "any" in produced or "any" in accepted:
        return True

    def expand(ks):
        out = set(ks)
        if "datacube" in ks:
            out |= {"raster-cube", "vector-cube"}
        if out & {"raster-cube", "vector-cube"}:
            out.add("datacube")
        return out

    p, a = expand(produced), expand(accepted)
    if p & a & CUBE_KINDS:
        return True
    return "other" in p and "other" in a


@functools.lru_cache(maxsize=4096)
def _validator(schema_json: str):
    schema = json.loads(schema_json)
    if isinstance(schema, list):
        schema = {"anyOf": schema}
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


# Validators by the identity of the schema object: the official definitions are loaded once and
# live for the process, so this skips serialising a schema on every argument check. The schema is
# kept in the entry, so its id cannot be reused by another object while cached.
_BY_IDENTITY: dict[int, tuple[Any, Any]] = {}


def _validator_for(schema: Any):
    entry = _BY_IDENTITY.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    validator = _validator(json.dumps(schema, sort_keys=True))
    if len(_BY_IDENTITY) < 8192:
        _BY_IDENTITY[id(schema)] = (schema, validator)
    return validator


# Results for scalar values (numbers, short strings, booleans, null) by (schema identity, type,
# value): graphs repeat the same literals (0, 1, "bands", ...) against the same parameter schemas.
# Only schemas held by _BY_IDENTITY are memoised, so an id cannot stand for another object.
_SCALAR_RESULTS: dict[tuple, str | None] = {}
_SCALARS = (int, float, bool, type(None), str)
_MISS = object()


def schema_error(value: Any, schema: Any) -> str | None:
    """None when `value` satisfies the schema, else a short reason."""
    if schema in (None, {}, []):
        return None
    if type(value) in _SCALARS and not (type(value) is str and len(value) > 256):
        key = (id(schema), type(value), value)
        hit = _SCALAR_RESULTS.get(key, _MISS)
        if hit is not _MISS:
            return hit
        result = _schema_error(value, schema)
        entry = _BY_IDENTITY.get(id(schema))
        if entry is not None and entry[0] is schema and len(_SCALAR_RESULTS) < 65536:
            _SCALAR_RESULTS[key] = result
        return result
    return _schema_error(value, schema)


def _schema_error(value: Any, schema: Any) -> str | None:
    validator = _validator_for(schema)
    if validator.is_valid(value):
        return None
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    return error.message if len(error.message) < 300 else error.message[:300] + "..."


_YEAR = re.compile(r"^\d{4}$")


def parse_instant(value: str) -> datetime | None:
    """An RFC 3339 date-time, a date or a year as a naive-UTC datetime (None when unparsable)."""
    if not isinstance(value, str):
        return None
    try:
        if _YEAR.match(value):
            return datetime(int(value), 1, 1)
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day)
        text = value.replace("z", "Z")
        if "T" not in text.upper():
            return None
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = (parsed - parsed.utcoffset()).replace(tzinfo=None)
        return parsed
    except ValueError:
        return None


def temporal_interval_error(value: Any) -> str | None:
    if not isinstance(value, list) or len(value) != 2:
        return "a temporal interval must be an array of two elements"
    start, end = value
    if start is None and end is None:
        return "a temporal interval cannot be open on both ends"
    parsed = []
    for v in (start, end):
        if v is None:
            parsed.append(None)
            continue
        p = parse_instant(v)
        if p is None:
            return f"'{v}' is not an RFC 3339 date-time, date or year"
        parsed.append(p)
    if parsed[0] is not None and parsed[1] is not None and parsed[1] <= parsed[0]:
        return f"the end '{end}' must be after the start '{start}' (the end is exclusive)"
    return None


def crs_error(crs: Any) -> str | None:
    from compiler_svc.geo import crs_from  # local: keeps pyproj out of cold paths

    try:
        crs_from(crs)
    except ValueError as exc:
        return str(exc)
    return None


def bbox_error(value: dict) -> str | None:
    for key in ("west", "south", "east", "north"):
        if not isinstance(value.get(key), (int, float)) or isinstance(value.get(key), bool):
            return f"the bounding box needs a number '{key}'"
    if value["west"] >= value["east"]:
        return f"west ({value['west']}) must be less than east ({value['east']})"
    if value["south"] >= value["north"]:
        return f"south ({value['south']}) must be less than north ({value['north']})"
    if "crs" in value and value["crs"] is not None:
        reason = crs_error(value["crs"])
        if reason:
            return reason
    crs = value.get("crs") or 4326
    if crs in (4326, "4326", "EPSG:4326"):
        if not (-180 <= value["west"] <= 180 and -180 <= value["east"] <= 180):
            return "longitudes must be within -180..180 for EPSG:4326"
        if not (-90 <= value["south"] <= 90 and -90 <= value["north"] <= 90):
            return "latitudes must be within -90..90 for EPSG:4326"
    return None


def geojson_error(value: Any, polygons_only: bool = True) -> str | None:
    from compiler_svc.geo import GEOMETRIES, POLYGONS, geometry_from_geojson

    try:
        geometry_from_geojson(value, POLYGONS if polygons_only else GEOMETRIES)
    except ValueError as exc:
        return str(exc)
    return None
