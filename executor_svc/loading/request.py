"""The Sentinel Hub Process API request of one `SentinelHubLoad` (pure)."""

from __future__ import annotations

import json

from backend_common.errors import OpenEOError


def _crs_url(epsg: int) -> str:
    if epsg == 4326:
        return "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    return f"http://www.opengis.net/def/crs/EPSG/0/{epsg}"


def _json_or(value: str, default, what: str):
    if not value:
        return default
    try:
        return json.loads(value)
    except ValueError:
        raise OpenEOError("Internal", f"The execution plan carries invalid JSON in {what}.", 500) from None


def process_request(load) -> dict:
    """Process API body: output `default` as FLOAT32 GeoTIFF plus the `userdata` JSON."""
    bbox = load.bbox
    if load.width <= 0 or load.height <= 0:
        raise OpenEOError("Internal", f"Load {load.node_id!r} has no output size.", 500)
    if not (bbox.east > bbox.west and bbox.north > bbox.south):
        raise OpenEOError("Internal", f"Load {load.node_id!r} has an empty bounding box.", 500)
    epsg = bbox.epsg or 4326
    bounds: dict = {
        "bbox": [bbox.west, bbox.south, bbox.east, bbox.north],
        "properties": {"crs": _crs_url(epsg)},
    }
    geometry = _json_or(load.geometry_json, None, "geometry_json")
    if geometry:
        if geometry.get("type") == "Feature":
            geometry = geometry.get("geometry")
        if geometry:
            bounds["geometry"] = geometry
    data_filter = dict(_json_or(load.data_filter_json, {}, "data_filter_json"))
    if load.time_from or load.time_to:
        data_filter.setdefault("timeRange", {})
        if load.time_from:
            data_filter["timeRange"]["from"] = load.time_from
        if load.time_to:
            data_filter["timeRange"]["to"] = load.time_to
    if load.mosaicking and load.mosaicking.upper() == "ORBIT" and "mosaickingOrder" not in data_filter:
        data_filter["mosaickingOrder"] = "mostRecent"
    item: dict = {"type": load.sh_type, "dataFilter": data_filter}
    processing = _json_or(load.processing_json, None, "processing_json")
    if processing:
        item["processing"] = processing
    data = [item]
    extra = _json_or(load.extra_inputs_json, [], "extra_inputs_json")
    if extra:
        data.extend(extra)
    return {
        "input": {"bounds": bounds, "data": data},
        "output": {
            "width": int(load.width),
            "height": int(load.height),
            "responses": [
                {"identifier": "default", "format": {"type": "image/tiff"}},
                {"identifier": "userdata", "format": {"type": "application/json"}},
            ],
        },
        "evalscript": load.evalscript,
    }
