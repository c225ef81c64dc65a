"""The job's `results_json` and STAC metadata document from the uploaded files (pure)."""

from __future__ import annotations

import json
import re

from executor_svc.encoding.raster import bbox_wgs84, date_labels, is_raster_cube, is_vector_cube

METADATA_NAME = "job-results.json"


def asset_name(file_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", file_name)


def extent_of(value) -> dict:
    """bbox (EPSG:4326), geometry and datetimes of a result value (empty dict when unknown)."""
    out: dict = {}
    if is_raster_cube(value):
        bbox = bbox_wgs84(value)
        if bbox:
            out["bbox"] = bbox
    elif is_vector_cube(value):
        import shapely

        geoms = [g for g in value.attrs["geometries"] if g is not None]
        if geoms:
            out["bbox"] = list(shapely.GeometryCollection(geoms).bounds)
    if "bbox" in out:
        w, s, e, n = out["bbox"]
        out["geometry"] = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    if hasattr(value, "dims") and "t" in value.dims and "t" in value.coords:
        dates = sorted(d for d in date_labels(value) if d)
        if dates:
            out["start_datetime"], out["end_datetime"] = dates[0], dates[-1]
    return out


def merge_extents(extents: list[dict]) -> dict:
    """Union of the chunk extents."""
    boxes = [e["bbox"] for e in extents if e.get("bbox")]
    out: dict = {}
    if boxes:
        w, s, e, n = min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)
        out["bbox"] = [w, s, e, n]
        out["geometry"] = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    starts = [e["start_datetime"] for e in extents if e.get("start_datetime")]
    ends = [e["end_datetime"] for e in extents if e.get("end_datetime")]
    if starts:
        out["start_datetime"], out["end_datetime"] = min(starts), max(ends)
    return out


def build_results(job_id: str, files: list, extent: dict, *, metadata_key: str | None = None, metadata_size: int = 0) -> dict:
    """results_json as the gateway expects it."""
    assets: dict = {}
    for f in files:
        entry = {
            "key": f"jobs/{job_id}/{f.name}",
            "type": f.media_type,
            "roles": ["data"],
            "title": f.name,
            "size": f.size,
        }
        entry.update(f.metadata)
        if f.datetime:
            entry["datetime"] = f.datetime
        assets[asset_name(f.name)] = entry
    if metadata_key:
        assets[METADATA_NAME] = {
            "key": metadata_key,
            "type": "application/json",
            "roles": ["metadata"],
            "title": "STAC metadata of the job results",
            "size": metadata_size,
        }
    results: dict = {"assets": assets}
    results.update(extent)
    return results


def stac_metadata(job, results: dict, processing_units: float) -> bytes:
    """A STAC Item describing the results (written next to them in S3)."""
    props = {
        "title": job.title or None,
        "description": job.description or None,
        "created": job.created or None,
        "start_datetime": results.get("start_datetime"),
        "end_datetime": results.get("end_datetime"),
        "datetime": None if results.get("start_datetime") else job.created or None,
        "openeo:status": "finished",
        "sentinelhub:processing_units": processing_units,
    }
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
        ],
        "id": job.id,
        "bbox": results.get("bbox"),
        "geometry": results.get("geometry"),
        "properties": {k: v for k, v in props.items() if v is not None or k == "datetime"},
        "assets": {
            name: {k: v for k, v in asset.items() if k != "key"} | {"href": asset["key"]}
            for name, asset in results["assets"].items()
            if "data" in asset.get("roles", [])
        },
        "links": [],
    }
    return json.dumps(item, indent=1).encode()
