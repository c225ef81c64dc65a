"""Batch job results: start (POST), cancel (DELETE), STAC Item (GET), signed asset downloads.

`Job.results` (`JobResults` of store.proto, written by the executor's batch worker when the job
finishes) becomes a STAC Item (openEO API 1.2 `batch_job_result`, built by
`backend_common.stac.results_item`): asset `href`s are signed gateway URLs
(`/jobs/{job_id}/results/assets/{name}?expires=..&user=..&signature=..`, see `gateway.signing`)
that need no Authorization header; `properties.expires` tells until when. The `canonical` link is
a signed URL of this same document (`/jobs/{job_id}/results/item.json`). Object keys in S3 are
internal and never shown. Partial results (`?partial=true`) carry `openeo:status`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

from aiohttp import web

from backend_common import stac
from backend_proto.v1 import common_pb2, executor_pb2, store_pb2
from gateway import routing, streaming
from gateway.auth import require_user
from gateway.errors import api_error
from gateway.http import json_response, loads_or, public_url
from gateway.keys import CLIENTS, SIGNER
from gateway.middleware.request_id import request_id_of

OPENEO_STATUS = {"created": "running", "queued": "running", "running": "running",
                 "canceled": "canceled", "finished": "finished", "error": "error"}


def _rfc3339(unix: int) -> str:
    return datetime.fromtimestamp(unix, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_internal_record(asset: store_pb2.ResultAsset) -> bool:
    """The executor's own record of the results stored beside them (role `metadata` only): a copy
    of this item with internal object keys, not a user asset. Listing it would also make the
    `openeo` client's `download_file`/`execute_batch(outputfile)` refuse a one-file result."""
    return bool(asset.roles) and all(role == "metadata" for role in asset.roles)


def stac_item(request: web.Request, job: store_pb2.Job, user_id: str, partial: bool) -> dict:
    signer = request.app[SIGNER]
    expires = signer.expiry()

    def asset_href(asset: store_pb2.ResultAsset) -> str:
        path = f"/jobs/{quote(job.id, safe='')}/results/assets/{quote(asset.name, safe='')}"
        return public_url(request, path, signer.query(job.id, asset.name, user_id, expires))

    properties = {
        "title": job.title,
        "description": job.description,
        "created": job.created,
        "updated": job.updated or job.created,
        "expires": _rfc3339(expires),
    }
    if partial or job.status != "finished":
        properties["openeo:status"] = OPENEO_STATUS.get(job.status, "running")
    links = [
        {"rel": "self", "href": public_url(request, f"/jobs/{job.id}/results"), "type": "application/json"},
        {"rel": "canonical", "type": "application/geo+json",
         "href": public_url(request, f"/jobs/{job.id}/results/item.json",
                            signer.query(job.id, "item.json", user_id, expires))},
        {"rel": "job", "href": public_url(request, f"/jobs/{job.id}"), "type": "application/json"},
    ]
    return stac.results_item(
        job.id, job.results,
        assets=[asset for asset in job.results.assets if not is_internal_record(asset)],
        asset_href=asset_href,
        # STAC needs a time: without dates in the results, the production time
        production_time=job.updated or job.created,
        properties={k: v for k, v in properties.items() if v},
        links=links,
    )


def _partial_flag(request: web.Request) -> bool:
    value = request.query.get("partial")
    if value is None:
        return False
    if value.lower() in ("", "true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise api_error("ParameterInvalid", "Query parameter 'partial' must be true or false.")


def _status_problem(request: web.Request, job: store_pb2.Job, partial: bool) -> web.Response | None:
    """424 with the job's error (a log entry) for failed jobs; JobNotFinished unless partial."""
    if job.status == "error":
        error = loads_or(job.error_json, {})
        error = error if isinstance(error, dict) else {}
        body = {
            "id": request_id_of(request) or "error",
            "code": error.get("code") or "Internal",
            "level": "error",
            "message": error.get("message") or "The batch job failed.",
            "links": [],
        }
        return json_response(body, status=424)
    if job.status != "finished" and not partial:
        raise api_error("JobNotFinished", f"Batch job has not finished computing the results yet (status: {job.status}).")
    return None


async def get_results(request: web.Request) -> web.Response:
    user = await require_user(request)
    partial = _partial_flag(request)
    job = await request.app[CLIENTS].store.GetJob(store_pb2.JobRef(user=user, job_id=request.match_info["job_id"]))
    problem = _status_problem(request, job, partial)
    if problem is not None:
        return problem
    return json_response(stac_item(request, job, user.user_id, partial), headers={"OpenEO-Costs": "0"})


async def signed_item(request: web.Request) -> web.Response:
    """Canonical STAC item via a signed URL (no Authorization); reflects the job's current state."""
    job_id = request.match_info["job_id"]
    ref = request.app[SIGNER].verify(job_id, "item.json", request.query)
    job = await request.app[CLIENTS].store.GetJob(
        store_pb2.JobRef(user=common_pb2.User(user_id=ref.user_id), job_id=job_id)
    )
    problem = _status_problem(request, job, True)
    if problem is not None:
        return problem
    item = stac_item(request, job, ref.user_id, job.status != "finished")
    return json_response(item, content_type="application/geo+json")


async def download_asset(request: web.Request) -> web.StreamResponse:
    job_id = request.match_info["job_id"]
    name = request.match_info["asset"]
    ref = request.app[SIGNER].verify(job_id, name, request.query)
    user = common_pb2.User(user_id=ref.user_id)
    call = request.app[CLIENTS].executor.ReadJobAsset(executor_pb2.JobAssetRef(user=user, job_id=job_id, asset=name))
    first, rest = await streaming.first_chunk(call)
    response = web.StreamResponse(status=200)
    response.headers["Content-Type"] = (first.content_type if first is not None else "") or "application/octet-stream"
    response.headers["Content-Disposition"] = f'attachment; filename="{(first.filename if first else "") or name}"'
    response.headers["Cache-Control"] = "private, max-age=3600"
    if first is not None and first.total_size > 0:
        response.content_length = first.total_size
    return await streaming.relay(request, call, response, first, rest)


async def start_job(request: web.Request) -> web.Response:
    user = await require_user(request)
    await request.app[CLIENTS].store.QueueJob(store_pb2.JobRef(user=user, job_id=request.match_info["job_id"]))
    return web.Response(status=202)


async def cancel_job(request: web.Request) -> web.Response:
    user = await require_user(request)
    await request.app[CLIENTS].store.CancelJob(store_pb2.JobRef(user=user, job_id=request.match_info["job_id"]))
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/jobs/{job_id}/results", get_results)
    routing.add(app, "POST", "/jobs/{job_id}/results", start_job)
    routing.add(app, "DELETE", "/jobs/{job_id}/results", cancel_job)
    routing.add(app, "GET", "/jobs/{job_id}/results/item.json", signed_item, hidden=True)
    routing.add(app, "GET", "/jobs/{job_id}/results/assets/{asset}", download_asset, hidden=True)
