"""MongoDB documents ⇄ protobuf messages (pure functions).

Free-form JSON travels and is stored as the exact text the caller sent (`*_json` strings), so key
order, integers and keys MongoDB would reject ("$ref", dotted names) survive unchanged. Job results
are typed (`JobResults`) and stored as a sub-document (`store_svc.job_results`).
Internal queue fields (lease token, lease expiry, worker, log counter, run id) and the owner's
stored credentials never leave the store (`job_to_proto` copies only the fields of `Job`).
"""

from __future__ import annotations

from datetime import datetime

from backend_proto.v1 import store_pb2
from store_svc import credentials, job_results
from store_svc.timeutil import rfc3339
from store_svc.validation import DEFAULT_LOG_LEVEL


def new_job_document(job_id: str, user_id: str, request: store_pb2.CreateJobRequest, now: datetime, *,
                     process_json: str, log_level: str, budget: float, job_options_json: str) -> dict:
    """A new job; the owner's credentials are kept for its runs (never returned, see
    `store_svc.credentials`)."""
    return {
        "_id": job_id,
        "user_id": user_id,
        "title": request.title,
        "description": request.description,
        "process_json": process_json,
        "status": "created",
        "progress": 0.0,
        "created": now,
        "updated": now,
        "plan": request.plan,
        "budget": budget,
        "log_level": log_level,
        "version": 1,
        "usage_json": "",
        "results": None,
        "error_json": "",
        "attempts": 0,
        "cancel_requested": False,
        "job_options_json": job_options_json,
        "costs": 0.0,
        # queue bookkeeping
        "queued_at": None,
        "lease_token": None,
        "lease_expires": None,
        "worker_id": None,
        "started": None,
        "finished": None,
        "log_seq": 0,
        "completed_lease": None,
        "released_lease": None,
        "run_id": None,
        credentials.FIELD: credentials.from_user(request.user),
    }


def job_to_proto(doc: dict) -> store_pb2.Job:
    return store_pb2.Job(
        id=doc["_id"],
        user_id=doc["user_id"],
        title=doc.get("title") or "",
        description=doc.get("description") or "",
        process_json=doc.get("process_json") or "",
        status=doc.get("status") or "created",
        progress=float(doc.get("progress") or 0.0),
        created=rfc3339(doc.get("created")),
        updated=rfc3339(doc.get("updated")),
        plan=doc.get("plan") or "",
        budget=float(doc.get("budget") or 0.0),
        log_level=doc.get("log_level") or DEFAULT_LOG_LEVEL,
        version=int(doc.get("version") or 0),
        usage_json=doc.get("usage_json") or "",
        results=job_results.from_document(doc),
        error_json=doc.get("error_json") or "",
        attempts=int(doc.get("attempts") or 0),
        cancel_requested=bool(doc.get("cancel_requested")),
        job_options_json=doc.get("job_options_json") or "",
        costs=float(doc.get("costs") or 0.0),
    )


def new_service_document(service_id: str, user_id: str, request: store_pb2.CreateServiceRequest, now: datetime, *,
                         process_json: str, configuration_json: str, log_level: str, budget: float) -> dict:
    return {
        "_id": service_id,
        "user_id": user_id,
        "title": request.title,
        "description": request.description,
        "process_json": process_json,
        "type": request.type,
        "enabled": bool(request.enabled),
        "configuration_json": configuration_json,
        "created": now,
        "updated": now,
        "version": 1,
        "budget": budget,
        "plan": request.plan,
        "processing_units_per_month": max(0.0, float(request.processing_units_per_month)),
        "log_level": log_level,
    }


def service_to_proto(doc: dict) -> store_pb2.Service:
    return store_pb2.Service(
        id=doc["_id"],
        user_id=doc["user_id"],
        title=doc.get("title") or "",
        description=doc.get("description") or "",
        process_json=doc.get("process_json") or "",
        type=doc.get("type") or "",
        enabled=bool(doc.get("enabled")),
        configuration_json=doc.get("configuration_json") or "",
        created=rfc3339(doc.get("created")),
        updated=rfc3339(doc.get("updated")),
        version=int(doc.get("version") or 0),
        budget=float(doc.get("budget") or 0.0),
        plan=doc.get("plan") or "",
        log_level=doc.get("log_level") or DEFAULT_LOG_LEVEL,
        costs=float(doc.get("costs") or 0.0),
        tiles_rendered=int(doc.get("tiles_rendered") or 0),
        processing_units_per_month=float(doc.get("processing_units_per_month") or 0.0),
    )


def process_graph_to_proto(doc: dict) -> store_pb2.ProcessGraph:
    return store_pb2.ProcessGraph(
        id=doc["process_graph_id"],
        user_id=doc["user_id"],
        process_json=doc.get("process_json") or "",
        created=rfc3339(doc.get("created")),
        updated=rfc3339(doc.get("updated")),
        version=int(doc.get("version") or 0),
    )


def log_id(seq: int) -> str:
    """Zero-padded so that ids sort as strings in the order they were assigned."""
    return f"{seq:012d}"


def parse_log_id(text: str) -> int | None:
    """The sequence number of a log id, None when `text` is not one."""
    if not text or not text.isdigit():
        return None
    return int(text)


def log_to_proto(doc: dict) -> store_pb2.LogEntry:
    return store_pb2.LogEntry(
        id=log_id(doc["seq"]),
        level=doc.get("level") or "info",
        message=doc.get("message") or "",
        time=rfc3339(doc.get("time")),
        data_json=doc.get("data_json") or "",
        node_id=doc.get("node_id") or "",
        code=doc.get("code") or "",
    )
