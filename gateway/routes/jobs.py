"""Batch jobs: /jobs, /jobs/{job_id} (GET/PATCH/DELETE), /jobs/{job_id}/estimate.

State lives in store_svc; processes are validated by the compiler before they are stored.
Results, start/cancel and assets are in `job_results.py`, logs in `logs.py`.
"""

from __future__ import annotations

import json

from aiohttp import web

from backend_common.logging import get_logger
from backend_proto.v1 import common_pb2, compiler_pb2, executor_pb2, store_pb2
from gateway import billing, costs, routing
from gateway.auth import require_user
from gateway.process_checks import validate_or_raise
from gateway.errors import api_error
from gateway.http import (
    json_response,
    loads_or,
    next_links,
    optional_log_level,
    optional_string,
    parse_limit,
    process_of,
    public_url,
    read_json_object,
)
from gateway.keys import CLIENTS

log = get_logger(__name__)

STANDARD_PROPERTIES = {"title", "description", "process", "plan", "budget", "log_level"}
EDITABLE = STANDARD_PROPERTIES
READ_ONLY = {"id", "status", "progress", "created", "updated", "costs", "usage", "links"}


def job_json(request: web.Request, job: store_pb2.Job, *, full: bool) -> dict:
    body: dict = {
        "id": job.id,
        "title": job.title or None,
        "description": job.description or None,
        "status": job.status or "created",
        "created": job.created,
        "updated": job.updated or job.created,
        "plan": billing.plans_of(request).get(job.plan).name,
        "costs": job.costs,
        "budget": job.budget or None,
        "log_level": job.log_level or "info",
    }
    if job.status == "running" or (job.status in ("error", "canceled") and job.progress > 0):
        body["progress"] = job.progress
    elif job.status == "finished":
        body["progress"] = 100
    elif job.status in ("created", "queued"):
        body["progress"] = 0
    if full:
        body["process"] = loads_or(job.process_json, {})
        usage = loads_or(job.usage_json, {})
        if not isinstance(usage, dict):
            usage = {}
        if job.costs and "sentinelhub" not in usage:
            usage.update(billing.pu_usage(job.costs))
        if usage:
            body["usage"] = usage
        options = loads_or(job.job_options_json, {})
        if isinstance(options, dict) and options:
            body["job_options"] = options
        body["links"] = [
            {"rel": "monitor", "href": public_url(request, f"/jobs/{job.id}/logs"), "type": "application/json",
             "title": "Batch job logs"},
        ]
        if job.status in ("finished", "error", "canceled"):
            body["links"].append(
                {"rel": "result", "href": public_url(request, f"/jobs/{job.id}/results"),
                 "type": "application/json", "title": "Batch job results"}
            )
    return body


def _job_options(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in STANDARD_PROPERTIES and k not in READ_ONLY}


async def create_job(request: web.Request) -> web.Response:
    user = await require_user(request)
    body = await read_json_object(request)
    process = process_of(body)
    title = optional_string(body, "title")
    description = optional_string(body, "description")
    billing_plan = billing.normalize_billing_plan(request, body.get("plan"))
    budget = billing.budget_of(body)
    log_level = optional_log_level(body)
    await validate_or_raise(request, user, process, compiler_pb2.PURPOSE_BATCH)
    job = await request.app[CLIENTS].store.CreateJob(
        store_pb2.CreateJobRequest(
            user=user,
            title=title or "",
            description=description or "",
            process_json=json.dumps(process),
            plan=billing_plan or "",
            budget=budget or 0.0,
            log_level=log_level or "",
            job_options_json=json.dumps(_job_options(body)),
        )
    )
    location = public_url(request, f"/jobs/{job.id}")
    return web.Response(status=201, headers={"Location": location, "OpenEO-Identifier": job.id})


async def list_jobs(request: web.Request) -> web.Response:
    user = await require_user(request)
    limit = parse_limit(request)
    reply = await request.app[CLIENTS].store.ListJobs(
        store_pb2.ListRequest(user=user, page=common_pb2.Page(limit=limit, next_token=request.query.get("next", "")))
    )
    return json_response(
        {
            "jobs": [job_json(request, job, full=False) for job in reply.jobs],
            "links": next_links(request, "/jobs", reply.next_token, limit),
        }
    )


async def get_job(request: web.Request) -> web.Response:
    user = await require_user(request)
    job = await request.app[CLIENTS].store.GetJob(store_pb2.JobRef(user=user, job_id=request.match_info["job_id"]))
    return json_response(job_json(request, job, full=True))


async def update_job(request: web.Request) -> web.Response:
    user = await require_user(request)
    job_id = request.match_info["job_id"]
    body = await read_json_object(request)
    for key in body:
        if key in READ_ONLY:
            raise api_error("PropertyNotEditable", f"The property '{key}' is read-only.")
    update = store_pb2.UpdateJobRequest(user=user, job_id=job_id)
    mask: list[str] = []
    if "title" in body:
        update.title = optional_string(body, "title") or ""
        mask.append("title")
    if "description" in body:
        update.description = optional_string(body, "description") or ""
        mask.append("description")
    if "plan" in body:
        update.plan = billing.normalize_billing_plan(request, body["plan"]) or ""
        mask.append("plan")
    if "budget" in body:
        update.budget = billing.budget_of(body) or 0.0
        mask.append("budget")
    if "log_level" in body:
        update.log_level = optional_log_level(body) or ""
        mask.append("log_level")
    options = _job_options(body)
    if options:
        update.job_options_json = json.dumps(options)
        mask.append("job_options")
    if "process" in body:
        process = process_of(body)
        await validate_or_raise(request, user, process, compiler_pb2.PURPOSE_BATCH)
        update.process_json = json.dumps(process)
        mask.append("process")
    if not mask:
        raise api_error("NoDataForUpdate")
    update.update_mask.extend(mask)
    await request.app[CLIENTS].store.UpdateJob(update)
    return web.Response(status=204)


async def delete_job(request: web.Request) -> web.Response:
    user = await require_user(request)
    job_id = request.match_info["job_id"]
    clients = request.app[CLIENTS]
    # Ownership check first: the store scopes by user (JobNotFound for other users' jobs).
    await clients.store.GetJob(store_pb2.JobRef(user=user, job_id=job_id))
    await clients.executor.DeleteJobResults(executor_pb2.JobAssetRef(user=user, job_id=job_id))
    await clients.store.DeleteJob(store_pb2.JobRef(user=user, job_id=job_id))
    return web.Response(status=204)


def iso_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    return "PT" + (parts or "0S")


async def estimate_job(request: web.Request) -> web.Response:
    """Exact processing units of the requests the job will send (`gateway.costs`)."""
    user = await require_user(request)
    clients = request.app[CLIENTS]
    job = await clients.store.GetJob(store_pb2.JobRef(user=user, job_id=request.match_info["job_id"]))
    estimate = await costs.estimate_process(clients, user, job.process_json, batch_job=True)
    plan = estimate.plan
    if not estimate.exact:
        log.info("job_estimate_upper_bound", job_id=job.id, reason=estimate.reason)
    return json_response(
        {
            "costs": round(estimate.processing_units, 6),
            "size": int(plan.estimated_bytes),
            "duration": iso_duration(plan.estimated_seconds),
            "downloads_included": None,
        }
    )


def setup(app: web.Application) -> None:
    routing.add(app, "GET", "/jobs", list_jobs)
    routing.add(app, "POST", "/jobs", create_job)
    routing.add(app, "GET", "/jobs/{job_id}", get_job)
    routing.add(app, "PATCH", "/jobs/{job_id}", update_job)
    routing.add(app, "DELETE", "/jobs/{job_id}", delete_job)
    routing.add(app, "GET", "/jobs/{job_id}/estimate", estimate_job)
