"""The completion manifest: the record, written to S3 after every result file of a run was
uploaded, that the run's results are complete.

A later attempt of the same run (same `run_id`: the job was not restarted by its owner in between)
finds it and completes the job with those results instead of deleting them and paying Sentinel Hub
again, e.g. when the first attempt could not record "finished" because the store was unreachable
until its lease was taken over. The manifest lives under the job's prefix (removed with the job's
results), is never a result asset, and is only trusted when every object it lists still exists.
"""

from __future__ import annotations

import base64
import json

from backend_proto.v1 import store_pb2
from executor_svc.storage.s3 import ObjectNotFound

MANIFEST_NAME = "_completion-manifest.json"


def manifest_key(job_id: str) -> str:
    return f"jobs/{job_id}/{MANIFEST_NAME}"


def encode(run_id: str, results: store_pb2.JobResults, processing_units: float, attempt: int) -> bytes:
    """The manifest's bytes (pure): the results as their exact protobuf encoding (NaN no-data
    values survive), base64 in JSON."""
    return json.dumps({
        "run_id": run_id,
        "attempt": attempt,
        "processing_units": processing_units,
        "results": base64.b64encode(results.SerializeToString(deterministic=True)).decode(),
    }).encode()


def decode(blob: bytes, run_id: str) -> tuple[store_pb2.JobResults, float] | None:
    """(results, processing units) when `blob` is a manifest of run `run_id`, else None (pure)."""
    try:
        doc = json.loads(blob)
        if not run_id or doc.get("run_id") != run_id:
            return None
        results = store_pb2.JobResults.FromString(base64.b64decode(doc["results"]))
        return results, float(doc.get("processing_units") or 0.0)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


async def read(storage, job_id: str, run_id: str) -> tuple[store_pb2.JobResults, float] | None:
    """The complete results of this run stored by an earlier attempt, if there are any and all
    their objects are still there."""
    if not run_id:
        return None
    try:
        blob = await storage.get_bytes(manifest_key(job_id))
    except ObjectNotFound:
        return None
    found = decode(blob, run_id)
    if found is None:
        return None
    present = set(await storage.list_keys(f"jobs/{job_id}/"))
    if any(asset.key not in present for asset in found[0].assets):
        return None
    return found
