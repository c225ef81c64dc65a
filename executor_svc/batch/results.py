"""The job's `JobResults` and the STAC record stored beside the uploaded files (pure)."""

from __future__ import annotations

import json
import re

from backend_common import stac
from backend_common.errors import OpenEOError
from backend_proto.v1 import store_pb2
from executor_svc.encoding.raster import bbox_wgs84, date_labels, is_raster_cube, is_vector_cube

METADATA_NAME = "job-results.json"


def asset_name(file_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", file_name)


def asset_of(results: store_pb2.JobResults, name: str, job_id: str) -> store_pb2.ResultAsset:
    """The asset `name` of a job's results; AssetNotFound when not listed (or its object is not
    in the job's prefix: the key is never trusted to point elsewhere)."""
    for asset in results.assets:
        if asset.name == name and asset.key.startswith(f"jobs/{job_id}/"):
            return asset
    raise OpenEOError("AssetNotFound", f"The job has no result asset {name!r}.", 404)


def extent_of(value) -> store_pb2.JobResults:
    """bbox (EPSG:4326) and date range of a result value (fields left empty when unknown)."""
    out = store_pb2.JobResults()
    if is_raster_cube(value):
        out.bbox.extend(bbox_wgs84(value) or [])
    elif is_vector_cube(value):
        import shapely

        geoms = [g for g in value.attrs["geometries"] if g is not None]
        if geoms:
            out.bbox.extend(shapely.GeometryCollection(geoms).bounds)
    if hasattr(value, "dims") and "t" in value.dims and "t" in value.coords:
        dates = sorted(d for d in date_labels(value) if d)
        if dates:
            out.start_datetime, out.end_datetime = dates[0], dates[-1]
    return out


def merge_extents(extents: list[store_pb2.JobResults]) -> store_pb2.JobResults:
    """Union of the chunk extents (the geometry stays the union box's polygon)."""
    out = store_pb2.JobResults()
    boxes = [list(e.bbox) for e in extents if len(e.bbox) == 4]
    if boxes:
        out.bbox.extend([min(b[0] for b in boxes), min(b[1] for b in boxes),
                         max(b[2] for b in boxes), max(b[3] for b in boxes)])
    starts = [e.start_datetime for e in extents if e.start_datetime]
    ends = [e.end_datetime for e in extents if e.end_datetime]
    if starts and ends:
        out.start_datetime, out.end_datetime = min(starts), max(ends)
    return out


def build_results(job_id: str, files: list, extent: store_pb2.JobResults, *, metadata_key: str | None = None,
                  metadata_size: int = 0) -> store_pb2.JobResults:
    """The job's results: one data asset per uploaded file (S3 key under `jobs/<job id>/`), then
    the STAC record of the results when it was written."""
    results = store_pb2.JobResults()
    results.CopyFrom(extent)
    for f in files:
        asset = results.assets.add(name=asset_name(f.name), key=f"jobs/{job_id}/{f.name}", media_type=f.media_type,
                                   roles=["data"], title=f.name, size=f.size, datetime=f.datetime or "")
        if f.metadata is not None:
            asset.projection.CopyFrom(f.metadata.projection)
            asset.bands.extend(f.metadata.bands)
    if metadata_key:
        results.assets.add(name=METADATA_NAME, key=metadata_key, media_type="application/json", roles=["metadata"],
                           title="STAC metadata of the job results", size=metadata_size)
    return results


def stac_metadata(job, results: store_pb2.JobResults, processing_units: float) -> bytes:
    """A STAC Item describing the data assets (hrefs: their S3 keys), written next to them in S3."""
    properties = {"title": job.title, "description": job.description, "created": job.created,
                  "openeo:status": "finished", "sentinelhub:processing_units": processing_units}
    item = stac.results_item(
        job.id, results,
        assets=[a for a in results.assets if "data" in a.roles],
        asset_href=lambda asset: asset.key,
        production_time=job.created,
        properties={k: v for k, v in properties.items() if v not in ("", None)},
    )
    return json.dumps(item, indent=1).encode()
