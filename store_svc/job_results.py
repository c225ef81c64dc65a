"""Batch job results in MongoDB (pure functions).

A job document keeps its `JobResults` as a BSON sub-document under `results` (protobuf's JSON
mapping, so field names are the contract's; `None` when there are none). Deployments before the
typed contract stored a JSON string under `results_json` (asset name -> STAC-like fields):
documents without a `results` field are converted from it when read, so they need no migration.
A document that has `results` (even `None`, which every new run writes) ignores `results_json`.
"""

from __future__ import annotations

import json
import math
from typing import Any

from google.protobuf import json_format

from backend_proto.v1 import store_pb2
from store_svc.errors import bad_request
from store_svc.validation import MAX_JSON_CHARS


def check(results: store_pb2.JobResults) -> store_pb2.JobResults:
    """Refuses results whose assets could not be told apart (names are the asset URLs) or that
    would not fit a MongoDB document."""
    names = [asset.name for asset in results.assets]
    if any(not name for name in names):
        raise bad_request("InvalidArgument", "Every result asset needs a name.")
    if len(set(names)) != len(names):
        raise bad_request("InvalidArgument", "Result asset names must be unique.")
    if results.ByteSize() > MAX_JSON_CHARS:
        raise bad_request("InvalidArgument", "The field 'results' is too large.")
    return results


def to_document(results: store_pb2.JobResults) -> dict:
    return json_format.MessageToDict(results, preserving_proto_field_name=True)


def from_document(doc: dict) -> store_pb2.JobResults | None:
    """The results of a job document, in either the typed or the old `results_json` form; None
    when it has none."""
    if "results" in doc:
        stored = doc["results"]
        if stored is None:
            return None
        return json_format.ParseDict(stored, store_pb2.JobResults(), ignore_unknown_fields=True)
    if not doc.get("results_json"):
        return None
    return from_results_json(doc["results_json"])


# ---- the old `results_json` string ---------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):  # the raster extension spells NaN / infinities as strings
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isnan(number) or math.isinf(number) else None
    return None


def _numbers(value: Any) -> list[float]:
    if not isinstance(value, list):
        return []
    numbers = [_number(v) for v in value]
    return [] if any(n is None for n in numbers) else numbers


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _bands(entry: dict) -> list[store_pb2.Band]:
    """`eo:bands` and `raster:bands` (matched by name, else by position) as one list."""
    eo_bands = [b for b in entry.get("eo:bands") or [] if isinstance(b, dict)] if isinstance(entry.get("eo:bands"), list) else []
    raster_bands = [b for b in entry.get("raster:bands") or [] if isinstance(b, dict)] if isinstance(entry.get("raster:bands"), list) else []
    count = max(len(eo_bands), len(raster_bands))
    bands = []
    for index in range(count):
        eo_band = eo_bands[index] if index < len(eo_bands) else {}
        raster_band = raster_bands[index] if index < len(raster_bands) else {}
        band = store_pb2.Band(
            name=_text(eo_band.get("name")) or _text(raster_band.get("name")),
            description=_text(eo_band.get("description")),
            common_name=_text(eo_band.get("common_name")),
            data_type=_text(raster_band.get("data_type")),
        )
        wavelength = _number(eo_band.get("center_wavelength"))
        if wavelength is not None:
            band.center_wavelength = wavelength
        nodata = _number(raster_band.get("nodata"))
        if nodata is not None:
            band.nodata = nodata
        stats = raster_band.get("statistics")
        if isinstance(stats, dict):
            for field in ("minimum", "maximum", "mean", "stddev", "valid_percent"):
                value = _number(stats.get(field))
                if value is not None:
                    setattr(band.statistics, field, value)
        bands.append(band)
    return bands


def _asset(name: str, entry: dict) -> store_pb2.ResultAsset:
    roles = entry.get("roles")
    size = entry.get("size")
    asset = store_pb2.ResultAsset(
        name=name,
        key=_text(entry.get("key")),
        media_type=_text(entry.get("type")),
        roles=[r for r in roles if isinstance(r, str)] if isinstance(roles, list) else [],
        title=_text(entry.get("title")),
        size=size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 0,
        datetime=_text(entry.get("datetime")),
        bands=_bands(entry),
    )
    proj = {k: entry[k] for k in ("proj:epsg", "proj:shape", "proj:bbox", "proj:transform") if k in entry}
    if proj:
        epsg = proj.get("proj:epsg")
        asset.projection.epsg = epsg if isinstance(epsg, int) and not isinstance(epsg, bool) else 0
        shape = proj.get("proj:shape")
        if isinstance(shape, list) and all(isinstance(v, int) for v in shape):
            asset.projection.shape.extend(shape)
        asset.projection.bbox.extend(_numbers(proj.get("proj:bbox")))
        asset.projection.transform.extend(_numbers(proj.get("proj:transform")))
    return asset


def from_results_json(text: str) -> store_pb2.JobResults:
    """The typed form of an old `results_json` document; what does not fit is left out."""
    try:
        old = json.loads(text) if text else {}
    except ValueError:
        old = {}
    if not isinstance(old, dict):
        return store_pb2.JobResults()
    assets = old.get("assets") if isinstance(old.get("assets"), dict) else {}
    geometry = old.get("geometry")
    bbox = _numbers(old.get("bbox"))
    return store_pb2.JobResults(
        assets=[_asset(str(name), entry) for name, entry in assets.items() if isinstance(entry, dict)],
        bbox=bbox if len(bbox) == 4 else [],
        geometry_json=json.dumps(geometry) if isinstance(geometry, dict) else "",
        datetime=_text(old.get("datetime")),
        start_datetime=_text(old.get("start_datetime")),
        end_datetime=_text(old.get("end_datetime")),
    )
