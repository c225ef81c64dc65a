"""The Batch v2 create body of a plan with `batch_api` (pure).

Tiles are delivered under `batch-api/<job id>/<tileName>/<outputId>.<format>` in the results
bucket: the path holds no task id, so the task of a restarted job finds the tiles that are already
there and, with `skipExisting`, neither renders nor bills them again. That prefix is outside the
job's `jobs/<job id>/` results, which a new run clears.
"""

from __future__ import annotations

from dataclasses import dataclass

from executor_svc.loading.request import process_request


@dataclass(frozen=True)
class DeliveryTarget:
    bucket: str
    access_key: str
    secret_key: str
    region: str | None = None


def tiles_prefix(job_id: str) -> str:
    return f"batch-api/{job_id}/"


def tile_key(job_id: str, tile_name: str, file_name: str) -> str:
    return f"{tiles_prefix(job_id)}{tile_name}/{file_name}"


def execution_db_key(job_id: str, task_id: str) -> str:
    return f"{tiles_prefix(job_id)}execution-{task_id}.sqlite"


def task_body(plan, job_id: str, target: DeliveryTarget, description: str = "") -> dict:
    load, engine = plan.loads[0], plan.batch_api
    process = process_request(load)
    output = process.get("output") or {}
    for key in ("width", "height", "resx", "resy"):
        output.pop(key, None)
    output["responses"] = [{"identifier": "default", "format": {"type": "image/tiff"}},
                           {"identifier": "userdata", "format": {"type": "application/json"}}]
    process["output"] = output
    s3 = {"url": f"s3://{target.bucket}/{tiles_prefix(job_id)}<tileName>/<outputId>.<format>",
          "accessKey": target.access_key, "secretAccessKey": target.secret_key}
    if target.region:
        s3["region"] = target.region
    return {
        "processRequest": process,
        "input": {"type": "tiling-grid", "id": int(engine.grid_id), "resolution": float(engine.resolution),
                  "bufferX": int(engine.buffer_px), "bufferY": int(engine.buffer_px)},
        "output": {"type": "raster", "delivery": {"s3": s3}, "overwrite": True, "skipExisting": True,
                   "cogOutput": False},
        "description": description or f"openEO batch job {job_id}",
    }
