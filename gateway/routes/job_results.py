"""Batch job results: start (POST), cancel (DELETE), STAC Item (GET), signed asset downloads.

`Job.results` (`JobResults` of store.proto, written by the executor's batch worker when the job
finishes) becomes a STAC Item (openEO API 1.2 `batch_job_result`, built by
`backend_common.stac.results_item`): asset `href`s are signed gateway URLs
(`/jobs/{job_id}/results/assets/{name}?expires=..&user=..&signature=..`, see `gateway.signing`)
that need no Authorization header; `properties.expires` tells until when. The `canonical` link is
a signed URL of this same document (`/jobs/{job_id}/results/item.json`). Object keys in S3 are
internal and never shown. Partial results (`?partial=true`) carry `openeo:status`.

Asset downloads answer range requests (206 with `Content-Range`, 416, several ranges as one
coalesced range), HEAD, and `ETag`/`Last-Modified` with `If-None-Match`, `If-Modified-Since` and
`If-Range` (`gateway.byte_ranges`); ranges are read from S3 by the executor with ranged reads. The
signature covers job, asset, expiry and user, not the range: every range request of a signed URL
works until it expires. Each download logs `asset_served` with the bytes sent.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

import grpc
from aiohttp import hdrs, web

from backend_common import stac
from backend_common.errors import OpenEOError, from_rpc_error
from backend_common.logging import get_logger
from backend_proto.v1 import common_pb2, executor_pb2, store_pb2
from gateway import billing, byte_ranges, costs, quotas, routing, streaming
from gateway.auth import require_user
from gateway.errors import api_error
from gateway.http import json_response, loads_or, public_url
from gateway.keys import CLIENTS, SIGNER
from gateway.middleware.request_id import request_id_of

log = get_logger(__name__)

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
    """424 with the job's error (a log entry) for failed jobs, unless partial results are asked
    for and the job kept some (a job stopped at its budget); JobNotFinished unless partial."""
    if job.status == "error" and not (partial and any(not is_internal_record(a) for a in job.results.assets)):
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


def _asset_headers(meta: common_pb2.DataChunk, name: str) -> dict[str, str]:
    """The headers every answer about an asset carries (200, 206, 304, HEAD)."""
    headers = {
        "Content-Type": meta.content_type or "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{meta.filename or name}"',
        "Cache-Control": "private, max-age=3600",
        "Accept-Ranges": "bytes",
    }
    if meta.etag:
        headers["ETag"] = meta.etag
    modified = byte_ranges.parse_rfc3339(meta.last_modified)
    if modified is not None:
        headers["Last-Modified"] = byte_ranges.http_date(modified)
    return headers


def _not_satisfiable(request: web.Request, size: int) -> web.Response:
    body = {"id": request_id_of(request) or "error", "code": "RangeNotSatisfiable",
            "message": f"The requested range is not within the {size} bytes of the file.", "links": []}
    return json_response(body, status=416, headers={"Content-Range": byte_ranges.unsatisfiable_range(size),
                                                    "Accept-Ranges": "bytes"})


async def _asset_metadata(request: web.Request, ref: executor_pb2.JobAssetRef) -> common_pb2.DataChunk:
    metadata_ref = executor_pb2.JobAssetRef()
    metadata_ref.CopyFrom(ref)
    metadata_ref.metadata_only = True
    call = request.app[CLIENTS].executor.ReadJobAsset(metadata_ref)
    first, _ = await streaming.first_chunk(call)
    call.cancel()
    if first is None:
        raise api_error("Internal", "The result asset could not be read.")
    return first


async def download_asset(request: web.Request) -> web.StreamResponse:
    """GET/HEAD of a signed asset URL, with range requests and validators (`gateway.byte_ranges`).

    An unconditional GET of the whole file or of one range is one `ReadJobAsset` call (a ranged S3
    read). HEAD, conditional requests (`If-None-Match`, `If-Modified-Since`, `If-Range`) and several
    ranges first ask for the asset's metadata (size, entity tag, modification), then for the bytes.
    """
    job_id = request.match_info["job_id"]
    name = request.match_info["asset"]
    signed = request.app[SIGNER].verify(job_id, name, request.query)
    ref = executor_pb2.JobAssetRef(user=common_pb2.User(user_id=signed.user_id), job_id=job_id, asset=name)
    ranges = byte_ranges.parse_range(request.headers.get(hdrs.RANGE))
    if_none_match = request.headers.get(hdrs.IF_NONE_MATCH)
    if_modified_since = request.headers.get(hdrs.IF_MODIFIED_SINCE)
    if_range = request.headers.get(hdrs.IF_RANGE) if ranges is not None else None
    head = request.method == hdrs.METH_HEAD
    single = ranges[0] if ranges is not None and len(ranges) == 1 else None
    simple = not head and if_none_match is None and if_modified_since is None and if_range is None and (
        ranges is None or (single is not None and (single.first is not None or single.suffix > 0)))

    if simple:
        if single is not None and single.first is None:
            ref.suffix_length = single.suffix
        elif single is not None:
            ref.offset = single.first
            ref.length = 0 if single.last is None else single.last - single.first + 1
    else:
        meta = await _asset_metadata(request, ref)
        last_modified = byte_ranges.parse_rfc3339(meta.last_modified)
        if byte_ranges.not_modified(if_none_match, if_modified_since, meta.etag, last_modified):
            return web.Response(status=304, headers={k: v for k, v in _asset_headers(meta, name).items()
                                                     if k not in ("Content-Type", "Content-Disposition")})
        if if_range is not None and not byte_ranges.if_range_holds(if_range, meta.etag, last_modified):
            ranges = None  # the file changed since the client's first part: all of it
        if ranges is not None:
            chosen = byte_ranges.span(ranges, meta.total_size)
            if chosen is None:
                return _not_satisfiable(request, meta.total_size)
            ref.offset, ref.length = chosen[0], chosen[1] - chosen[0] + 1
        if head:
            response = web.StreamResponse(status=200 if ranges is None else 206, headers=_asset_headers(meta, name))
            if ranges is not None:
                response.headers["Content-Range"] = byte_ranges.content_range(
                    ref.offset, ref.offset + ref.length - 1, meta.total_size)
            response.content_length = ref.length if ranges is not None else meta.total_size
            await response.prepare(request)
            await response.write_eof()
            return response

    call = request.app[CLIENTS].executor.ReadJobAsset(ref)
    first, rest = await streaming.first_chunk(call)
    if first is None:
        call.cancel()
        raise api_error("Internal", "The result asset could not be read.")
    if ranges is not None and first.range_length == 0:
        call.cancel()
        return _not_satisfiable(request, first.total_size)
    response = web.StreamResponse(status=200 if ranges is None else 206, headers=_asset_headers(first, name))
    if ranges is not None:
        response.headers["Content-Range"] = byte_ranges.content_range(
            first.range_offset, first.range_offset + first.range_length - 1, first.total_size)
    response.content_length = first.range_length
    await streaming.relay(request, call, response, first, rest)
    log.info("asset_served", job_id=job_id, asset=name, status=response.status, bytes=first.range_length,
             offset=first.range_offset, size=first.total_size, range=request.headers.get(hdrs.RANGE))
    return response


async def start_job(request: web.Request) -> web.Response:
    """Queues the job, unless its estimate exceeds its budget (PaymentRequired naming both) or a
    limit of its billing plan is reached (429, `gateway.quotas`). Only a job with a budget is
    priced here (the estimate asks Sentinel Hub's Catalog); the others start at once."""
    user = await require_user(request)
    clients = request.app[CLIENTS]
    ref = store_pb2.JobRef(user=user, job_id=request.match_info["job_id"])
    job = await clients.store.GetJob(ref)
    if job.status not in ("queued", "running"):  # else QueueJob changes nothing
        billing_plan = billing.plans_of(request).get(job.plan)
        estimate = await _estimate_or_none(clients, user, job) if job.budget > 0 else None
        if estimate is not None:
            quotas.check_budget(job.budget, estimate, "job")
        await quotas.check_job_start(clients, user, billing_plan, estimate)
    await clients.store.QueueJob(ref)
    return web.Response(status=202)


async def _estimate_or_none(clients, user, job) -> float | None:
    """The job's PUs; None when its process cannot be planned now: the job then fails with the
    compiler's error when it runs, like every job without a budget."""
    try:
        return (await costs.estimate_process(clients, user, job.process_json, batch_job=True)).processing_units
    except OpenEOError as err:
        if err.status >= 500:
            raise
    except grpc.RpcError as err:
        mapped = from_rpc_error(err)
        if mapped.status >= 500:
            raise
    log.info("job_start_without_estimate", job_id=job.id)
    return None


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
    routing.add(app, "HEAD", "/jobs/{job_id}/results/assets/{asset}", download_asset, hidden=True)
